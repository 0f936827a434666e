-- Placeholder so this branch's 0014 applies without a gap: issue 13's other half (admission
-- probes, contracts, trust per pool key) owns these numbers. Delete at merge.
SELECT 1;
