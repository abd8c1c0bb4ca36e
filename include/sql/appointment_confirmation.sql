-- Appointments of the next day to confirm. Bound parameters: next_day, day_after (from sql_params).
SELECT c.customer_id,
       c.full_name,
       c.phone,
       c.is_dnc,
       c.updated_at,
       a.appointment_id,
       a.appointment_at,
       a.branch
FROM appointments AS a
JOIN customers AS c ON c.customer_id = a.customer_id
WHERE a.status = 'booked'
  AND a.appointment_at >= :next_day
  AND a.appointment_at < :day_after
ORDER BY a.appointment_at
