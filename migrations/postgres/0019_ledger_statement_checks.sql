-- The ledger's two insert checks, run once per statement instead of once per row.
--
-- Why: the convenience-store import posts a chunk's entries (hundreds) in one statement, and a
-- row trigger ran its queries through PL/pgSQL once for every line and every entry, about a
-- quarter of the import's time. The rules are the same as in 0010 and so is the error
-- (SQLSTATE 23514, check_violation): an entry's lines come first, in their own statement, and
-- no line may be added to an entry once it exists; an entry balances (its lines sum to zero,
-- at least one debit and one credit) and its lines belong to its city. An AFTER trigger that
-- raises aborts its statement, so nothing of a refused statement stays.
--
-- The checks look each new row up by key (a nested loop over the transition table): without
-- fresh statistics during a bulk load the planner would otherwise hash the whole ledger once
-- per statement, and the import would slow down as the ledger grows (measured: 5 s, then 15 s
-- per 50,000 entries). Hence the functions' own join settings.
DROP TRIGGER ledger_lines_sealed ON ledger_lines;
DROP TRIGGER ledger_entries_balanced ON ledger_entries;
DROP FUNCTION ledger_line_unsealed();
DROP FUNCTION ledger_entry_balanced();
CREATE FUNCTION ledger_lines_unsealed() RETURNS trigger LANGUAGE plpgsql
SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_lines n WHERE EXISTS (SELECT 1 FROM ledger_entries e WHERE e.id = n.entry_id)) THEN
        RAISE EXCEPTION 'ledger entry is sealed: lines cannot be added' USING ERRCODE = '23514';
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER ledger_lines_sealed AFTER INSERT ON ledger_lines
    REFERENCING NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_lines_unsealed();
CREATE FUNCTION ledger_entries_balanced() RETURNS trigger LANGUAGE plpgsql
SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
    IF EXISTS (
        SELECT 1
        FROM new_entries e
        CROSS JOIN LATERAL (
            SELECT sum(l.amount_yen) AS total,
                   bool_or(l.amount_yen > 0) AS debit,
                   bool_or(l.amount_yen < 0) AS credit,
                   bool_or(l.tenant_id <> e.tenant_id) AS foreign_line
            FROM ledger_lines l WHERE l.entry_id = e.id
        ) lines
        WHERE coalesce(lines.total, 1) <> 0
           OR NOT coalesce(lines.debit, false)
           OR NOT coalesce(lines.credit, false)
           OR coalesce(lines.foreign_line, false)
    ) THEN
        RAISE EXCEPTION 'ledger entry does not balance' USING ERRCODE = '23514';
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_balanced();
