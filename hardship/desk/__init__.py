"""Service desk (职工服务中心窗口): cases registered at the window, referred down, answered, closed (SPEC 7)."""
