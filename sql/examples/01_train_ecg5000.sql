-- Train a VRAE with 5 clusters on all 5000 ECG5000 heartbeats and keep the
-- model as a one-row Parquet file for the other scripts.
-- Run from the repository root:  vrae-sql -f sql/examples/01_train_ecg5000.sql
-- Training prints its progress (epoch, loss) on stderr.

CREATE EXTERNAL TABLE ecg_train STORED AS PARQUET LOCATION 'data/ECG5000_TRAIN.parquet';
CREATE EXTERNAL TABLE ecg_test STORED AS PARQUET LOCATION 'data/ECG5000_TEST.parquet';
CREATE VIEW ecg AS SELECT id, label, series FROM ecg_train UNION ALL SELECT id, label, series FROM ecg_test;

-- Labels never train: vrae_fit sees only the series.
COPY (SELECT vrae_fit(series, '{"clusters": 5, "seed": 0}') AS model FROM ecg)
TO 'out/sql/ecg5000_model.parquet' STORED AS PARQUET;

-- What was trained: options, rows, loss per epoch, seconds.
SELECT vrae_model_info(model) AS info FROM 'out/sql/ecg5000_model.parquet';
