"""the history's encrypted values re-encrypted by rotate-pii: ``hardship_reseal_event`` (PostgreSQL)

Revision ID: 7a4c2e9d1b06
Revises: 5e1d0c3a9b7f
Create Date: 2026-12-06 02:00:00

Frozen text: this file imports nothing from the application.

``household_events`` is append-only for the runtime role (``hardship init`` grants it no UPDATE), yet a
correction's personal values in ``changes`` are encrypted, and ``rotate-pii`` must re-encrypt them with the
current key before a retired key leaves ``PII_KEYS``. ``hardship_reseal_event(event_id, changes)`` is the one way
to do that: it runs as the owner (``SECURITY DEFINER``, refused to PUBLIC, granted to the runtime role by
``hardship init``), applies the scope itself (``tenant_id = ANY (hardship_scope_ids())``, the policy's
``USING``) and replaces the event's ``changes`` only if the new document differs from the stored one in nothing
but the encrypted values: in each entry of ``fields`` marked ``sealed``, the text of ``before``, ``after`` and
``id_number`` (of a member added or removed: ``id_number`` only, ``before``/``after`` are names), each replaced by
another ciphertext (``<key id>:r:<base64>``). Anything else is refused (SQLSTATE 42501); no other column is
touched. It returns whether it found the event. On SQLite ``rotate-pii`` updates the row itself.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '7a4c2e9d1b06'
down_revision = '5e1d0c3a9b7f'
branch_labels = None
depends_on = None

RESEAL_FUNCTION = r"""
CREATE FUNCTION hardship_reseal_event(event_id bigint, changes json)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    stored jsonb;
    wanted jsonb := CAST(hardship_reseal_event.changes AS jsonb);
    entry jsonb;
    key text;
    keys text[];
BEGIN
    SELECT CAST(e.changes AS jsonb) INTO stored FROM public.household_events AS e
    WHERE e.id = hardship_reseal_event.event_id AND e.tenant_id = ANY (public.hardship_scope_ids())
    FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF jsonb_typeof(stored -> 'fields') IS DISTINCT FROM 'array'
       OR jsonb_typeof(wanted -> 'fields') IS DISTINCT FROM 'array'
       OR jsonb_array_length(stored -> 'fields') <> jsonb_array_length(wanted -> 'fields') THEN
        RAISE EXCEPTION 'hardship_reseal_event changes only the encrypted values of a correction'
            USING ERRCODE = '42501';
    END IF;
    FOR i IN 0 .. jsonb_array_length(stored -> 'fields') - 1 LOOP
        entry := stored -> 'fields' -> i;
        CONTINUE WHEN entry ->> 'sealed' IS DISTINCT FROM 'true';
        keys := CASE WHEN entry ->> 'field' = 'member' THEN ARRAY['id_number']
                     ELSE ARRAY['before', 'after', 'id_number'] END;
        FOREACH key IN ARRAY keys LOOP
            CONTINUE WHEN jsonb_typeof(entry -> key) IS DISTINCT FROM 'string';
            IF jsonb_typeof(wanted -> 'fields' -> i -> key) IS DISTINCT FROM 'string'
               OR (wanted -> 'fields' -> i ->> key) !~ '^[A-Za-z0-9]+:r:[A-Za-z0-9+/=]+$' THEN
                RAISE EXCEPTION 'hardship_reseal_event writes ciphertexts only' USING ERRCODE = '42501';
            END IF;
            stored := jsonb_set(stored, ARRAY['fields', CAST(i AS text), key], wanted -> 'fields' -> i -> key);
        END LOOP;
    END LOOP;
    IF stored IS DISTINCT FROM wanted THEN
        RAISE EXCEPTION 'hardship_reseal_event changes only the encrypted values of a correction'
            USING ERRCODE = '42501';
    END IF;
    UPDATE public.household_events AS e SET changes = hardship_reseal_event.changes
    WHERE e.id = hardship_reseal_event.event_id;
    RETURN true;
END
$$
"""
RESEAL_SIGNATURE = "hardship_reseal_event(bigint, json)"


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(RESEAL_FUNCTION)
    op.execute(f"REVOKE EXECUTE ON FUNCTION {RESEAL_SIGNATURE} FROM PUBLIC")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION {RESEAL_SIGNATURE}")
