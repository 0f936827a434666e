-- Placeholder (issue 14 branch): numbers 0011-0015 are taken by other branches; the lead renumbers at merge.
SELECT 1;
