-- The README's quick start on a Ballista cluster:
--   vrae-sql --remote df://HOST:50050 -f cluster/quick_start.sql
-- Paths are read by the scheduler and the executors: run it from the
-- repository root with the processes started there, or change the paths to
-- storage every machine sees. Ballista has no in-memory CREATE TABLE, so
-- the model is kept with COPY and read back as an external table.

CREATE EXTERNAL TABLE ecg_train STORED AS PARQUET LOCATION 'data/ECG5000_TRAIN.parquet';
CREATE EXTERNAL TABLE ecg_test STORED AS PARQUET LOCATION 'data/ECG5000_TEST.parquet';

-- Train (one task: one model on one group), keep the model.
COPY (SELECT vrae_fit(series, '{"clusters": 5}') AS model FROM ecg_train)
TO 'out/cluster/ecg5000_model/' STORED AS PARQUET;
CREATE EXTERNAL TABLE m STORED AS PARQUET LOCATION 'out/cluster/ecg5000_model/';

-- Use it: cluster sizes over the test set, then the ten most anomalous series.
SELECT vrae_cluster(s.series, m.model) AS cluster, count(*) AS series
FROM ecg_test s CROSS JOIN m GROUP BY cluster ORDER BY cluster;
SELECT s.id, vrae_score(s.series, m.model) AS score
FROM ecg_test s CROSS JOIN m ORDER BY score DESC LIMIT 10;
