"""In-kind goods (物资, SPEC 5.7): a union's stock of donated or bought goods, its append-only movements, and
the hand-out that the aid module's batches call (:func:`hardship.goods.operations.hand_out`)."""
