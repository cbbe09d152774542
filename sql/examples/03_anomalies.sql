-- The heartbeats the model reconstructs worst: candidates for anomalies.
-- Needs 01_train_ecg5000.sql first.

CREATE EXTERNAL TABLE model STORED AS PARQUET LOCATION 'out/sql/ecg5000_model.parquet';
CREATE VIEW ecg AS
  SELECT id, label, series FROM 'data/ECG5000_TRAIN.parquet'
  UNION ALL SELECT id, label, series FROM 'data/ECG5000_TEST.parquet';

SELECT e.id, e.label, round(vrae_score(e.series, m.model), 4) AS score
FROM ecg e CROSS JOIN model m
ORDER BY score DESC
LIMIT 10;

-- Mean score per label: label 1 is the normal heartbeat class.
SELECT e.label, count(*) AS series, round(avg(vrae_score(e.series, m.model)), 4) AS mean_score
FROM ecg e CROSS JOIN model m
GROUP BY e.label ORDER BY e.label;
