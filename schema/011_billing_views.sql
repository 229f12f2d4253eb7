-- hokan 011: the billing views, the interface for billing staff (psql) and
-- for `hokan billing invoice`. Schema `billing` holds views only: they
-- compute from the tables of 001-010 at query time and never store a
-- figure. Money is integer minor units (amount_minor) with an ISO 4217
-- currency; days and months are UTC; a month is 'YYYY-MM'. A GB is 1024^3
-- bytes (as contract quotas count). README.md, section "Billing", documents
-- every view's columns with example queries.

CREATE SCHEMA billing;

-- Each price-list row with the days it is in force: from effective_from up
-- to (not including) the next row's effective_from of the same item; NULL
-- effective_until = still in force. A charge takes the row in force on its
-- day, so a later price change never alters a past charge.
CREATE VIEW billing.prices AS
SELECT p.id AS price_id,
       p.item,
       p.amount_minor,
       p.currency::text AS currency,
       p.effective_from,
       lead(p.effective_from) OVER (PARTITION BY p.item ORDER BY p.effective_from)
           AS effective_until
  FROM price_list p;

-- One row per fee event: a study retrieved under a purpose on a billing
-- day, charged once at the fee in force that day (stored in the event).
CREATE VIEW billing.fee_lines AS
SELECT e.id AS fee_event_id,
       f.name AS facility,
       p.name AS purpose,
       e.modality,
       e.study_instance_uid,
       e.billing_day,
       to_char(e.billing_day, 'YYYY-MM') AS month,
       e.amount_minor,
       e.currency::text AS currency,
       e.instances_delivered,
       e.instances_failed,
       e.calling_ae,
       e.fee_schedule_id,
       e.first_delivered_at,
       e.last_delivered_at
  FROM fee_events e
  JOIN facilities f ON f.id = e.facility_id
  JOIN purposes p ON p.id = e.purpose_id;

-- One row per charged period of each contract version in force (not
-- superseded): an annual contract's years and a monthly contract's months,
-- counted from starts_on + k years/months (the day clamped to a shorter
-- month's end, never drifting), each started period charged whole — 10
-- points a year, 1 a month — in the month the period starts, at the
-- accounting_point price in force on its first day (NULL amounts: no price
-- yet). billing/contract_charges.h computes the same in C++.
CREATE VIEW billing.contract_charges AS
WITH periods AS (
    SELECT c.id AS contract_id, c.facility_id, c.service_period, c.starts_on, c.ends_on,
           CASE c.service_period WHEN 'annual' THEN 12 ELSE 1 END AS months_per_period,
           CASE c.service_period WHEN 'annual' THEN 10 ELSE 1 END AS points,
           k AS period_number
      FROM contracts c
     CROSS JOIN LATERAL generate_series(
           0,
           ((extract(year FROM c.ends_on) - extract(year FROM c.starts_on)) * 12
             + extract(month FROM c.ends_on) - extract(month FROM c.starts_on))::integer
             / CASE c.service_period WHEN 'annual' THEN 12 ELSE 1 END) AS k
     WHERE c.superseded_at IS NULL
), dated AS (
    SELECT periods.*,
           (starts_on + make_interval(months => period_number * months_per_period))::date
               AS period_start,
           (starts_on + make_interval(months => (period_number + 1) * months_per_period))::date
               - 1 AS next_period_eve
      FROM periods
)
SELECT d.contract_id,
       f.name AS facility,
       d.service_period,
       d.period_start,
       least(d.next_period_eve, d.ends_on) AS period_end,
       to_char(d.period_start, 'YYYY-MM') AS month,
       d.points,
       pr.amount_minor AS point_amount_minor,
       pr.currency,
       d.points * pr.amount_minor AS amount_minor
  FROM dated d
  JOIN facilities f ON f.id = d.facility_id
  LEFT JOIN billing.prices pr
         ON pr.item = 'accounting_point'
        AND pr.effective_from <= d.period_start
        AND (pr.effective_until IS NULL OR d.period_start < pr.effective_until)
 WHERE d.period_start <= d.ends_on;

-- Daily usage samples with their month's length, the price in force for
-- storage and for overage that day (NULL: none), in GB.
CREATE VIEW billing.usage_days AS
SELECT s.facility_id,
       f.name AS facility,
       s.sample_day,
       to_char(s.sample_day, 'YYYY-MM') AS month,
       extract(day FROM date_trunc('month', s.sample_day) + interval '1 month' - interval '1 day')
           ::integer AS days_in_month,
       s.used_bytes,
       s.quota_bytes,
       greatest(s.used_bytes - s.quota_bytes, 0) AS overage_bytes,
       s.used_bytes::numeric / 1073741824 AS used_gb,
       coalesce(greatest(s.used_bytes - s.quota_bytes, 0), 0)::numeric / 1073741824
           AS overage_gb,
       storage.price_id AS storage_price_id,
       storage.amount_minor AS storage_amount_minor,
       storage.currency AS storage_currency,
       overage.price_id AS overage_price_id,
       overage.amount_minor AS overage_amount_minor,
       overage.currency AS overage_currency
  FROM usage_samples s
  JOIN facilities f ON f.id = s.facility_id
  LEFT JOIN billing.prices storage
         ON storage.item = 'storage_gb_month'
        AND storage.effective_from <= s.sample_day
        AND (storage.effective_until IS NULL OR s.sample_day < storage.effective_until)
  LEFT JOIN billing.prices overage
         ON overage.item = 'quota_overage_gb_month'
        AND overage.effective_from <= s.sample_day
        AND (overage.effective_until IS NULL OR s.sample_day < overage.effective_until);

-- Usage per facility and month from the daily samples: days sampled,
-- average and peak bytes used, GB-months (the sum of each sampled day's GB
-- divided by the days in the month: 100 GB kept all of a 30-day month is
-- 100 GB-months, 15 days of it 50) and GB-months over the quota.
CREATE VIEW billing.usage_monthly AS
SELECT facility,
       month,
       min(days_in_month) AS days_in_month,
       count(*) AS days_sampled,
       round(avg(used_bytes))::bigint AS average_used_bytes,
       max(used_bytes) AS peak_used_bytes,
       round(sum(used_gb) / min(days_in_month), 6) AS gb_months,
       round(sum(overage_gb) / min(days_in_month), 6) AS overage_gb_months
  FROM billing.usage_days
 GROUP BY facility, month;

-- The lines of each facility's monthly invoice. kind:
--   exam_fee        fee events of the month with a fee (amount > 0), per
--                   purpose, modality and fee; quantity = examinations
--   contract        billing.contract_charges of the month; quantity = points
--   storage         GB-months of the month at the storage_gb_month price in
--                   force each day; quantity = GB-months
--   quota_overage   GB-months over the day's quota at quota_overage_gb_month
--   offline_export  deluxe offline exports (by the UTC day of their
--                   cut-off) at the offline_export price; quantity = exports
-- amount_minor is quantity x unit_amount_minor, rounded to whole minor
-- units (half away from zero) from the exact quantity; quantity is shown
-- to 6 decimals. Days or periods without a price in force charge nothing
-- and have no line.
CREATE VIEW billing.invoice_lines AS
SELECT facility, month, 'exam_fee'::text AS kind,
       format('exam fee: purpose %s, modality %s', purpose,
              coalesce(nullif(modality, ''), 'unknown')) AS description,
       count(*)::numeric AS quantity,
       amount_minor AS unit_amount_minor,
       sum(amount_minor)::bigint AS amount_minor,
       currency
  FROM billing.fee_lines
 WHERE amount_minor > 0
 GROUP BY facility, month, purpose, modality, amount_minor, currency
UNION ALL
SELECT facility, month, 'contract',
       format('%s contract %s, %s %s..%s: %s point%s', service_period, contract_id,
              CASE service_period WHEN 'annual' THEN 'year' ELSE 'month' END,
              to_char(period_start, 'YYYY-MM-DD'), to_char(period_end, 'YYYY-MM-DD'),
              points, CASE WHEN points = 1 THEN '' ELSE 's' END),
       points::numeric,
       point_amount_minor,
       amount_minor,
       currency::text
  FROM billing.contract_charges
 WHERE amount_minor IS NOT NULL
UNION ALL
SELECT facility, month, 'storage',
       format('storage, %s day%s sampled', count(*), CASE WHEN count(*) = 1 THEN '' ELSE 's' END),
       round(sum(used_gb) / min(days_in_month), 6),
       storage_amount_minor,
       round(sum(used_gb) / min(days_in_month) * storage_amount_minor)::bigint,
       storage_currency::text
  FROM billing.usage_days
 WHERE storage_price_id IS NOT NULL
 GROUP BY facility, month, storage_price_id, storage_amount_minor, storage_currency
UNION ALL
SELECT facility, month, 'quota_overage',
       format('over quota, %s day%s', count(*), CASE WHEN count(*) = 1 THEN '' ELSE 's' END),
       round(sum(overage_gb) / min(days_in_month), 6),
       overage_amount_minor,
       round(sum(overage_gb) / min(days_in_month) * overage_amount_minor)::bigint,
       overage_currency::text
  FROM billing.usage_days
 WHERE overage_price_id IS NOT NULL AND overage_bytes > 0
 GROUP BY facility, month, overage_price_id, overage_amount_minor, overage_currency
UNION ALL
SELECT f.name, to_char(x.cut_off AT TIME ZONE 'UTC', 'YYYY-MM'), 'offline_export',
       'deluxe offline export',
       count(*)::numeric,
       pr.amount_minor,
       (count(*) * pr.amount_minor)::bigint,
       pr.currency::text
  FROM offline_exports x
  JOIN facilities f ON f.id = x.facility_id
  JOIN billing.prices pr
    ON pr.item = 'offline_export'
   AND pr.effective_from <= (x.cut_off AT TIME ZONE 'UTC')::date
   AND (pr.effective_until IS NULL OR (x.cut_off AT TIME ZONE 'UTC')::date < pr.effective_until)
 GROUP BY f.name, to_char(x.cut_off AT TIME ZONE 'UTC', 'YYYY-MM'), pr.price_id,
          pr.amount_minor, pr.currency;

-- One invoice per facility, month and currency: its number of lines and
-- total (the sum of its lines' amount_minor).
CREATE VIEW billing.invoices AS
SELECT facility, month, currency, count(*) AS lines, sum(amount_minor)::bigint AS total_minor
  FROM billing.invoice_lines
 GROUP BY facility, month, currency;

-- Retrieval fees per month and purpose, and per month and modality:
-- examinations retrieved (fee events, free ones included) and their total.
CREATE VIEW billing.fees_by_purpose AS
SELECT month, purpose, currency, count(*) AS exams, sum(amount_minor)::bigint AS total_minor
  FROM billing.fee_lines
 GROUP BY month, purpose, currency;

CREATE VIEW billing.fees_by_modality AS
SELECT month, modality, currency, count(*) AS exams, sum(amount_minor)::bigint AS total_minor
  FROM billing.fee_lines
 GROUP BY month, modality, currency;
