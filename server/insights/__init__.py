"""Partnership insights: how the agencies around a child work together, in numbers only.

``queries`` holds the SQL aggregates (one pass over a period's meetings, turns and actions, no
row per case ever reaches Python); ``rules`` the pure shaping, shares and rates; ``charts`` the
server-rendered SVG; ``service`` reads, checks who may, and audits; ``api`` and ``pages`` are
the thin routes. Nothing here reads a child's name, a case reference, a title or any text.
"""
