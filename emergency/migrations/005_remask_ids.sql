-- 005: the masked ID number keeps the region and the last two characters only. The old form
-- (first six, last four) together with the birth date shown on pages gave back the whole number.
UPDATE members SET id_masked = substr(id_masked, 1, 6) || '**********' || substr(id_masked, length(id_masked) - 1, 2)
WHERE id_masked IS NOT NULL AND id_masked <> '';
