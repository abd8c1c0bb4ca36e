-- Customers with an unpaid amount due in the next days.
-- Bound parameters (never formatted in): run_date, and the config's sql_params (due_until).
SELECT c.customer_id,
       c.full_name,
       c.phone,
       c.is_dnc,
       c.updated_at,
       i.invoice_id,
       i.amount_due,
       i.due_date
FROM customers AS c
JOIN invoices AS i ON i.customer_id = c.customer_id
WHERE i.paid = 0
  AND i.due_date >= :run_date
  AND i.due_date <= :due_until
ORDER BY c.customer_id, i.due_date
