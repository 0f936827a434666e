-- Placeholder keeping the numbering gapless on branch issue13-probes: 0011 is another branch's
-- migration. Delete this file at merge (the lead renumbers).
SELECT 1;
