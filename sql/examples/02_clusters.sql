-- Cluster sizes, how clusters line up with the (never trained on) labels,
-- and each cluster's mean shape. Needs 01_train_ecg5000.sql first.

CREATE EXTERNAL TABLE model STORED AS PARQUET LOCATION 'out/sql/ecg5000_model.parquet';
CREATE VIEW ecg AS
  SELECT id, label, series FROM 'data/ECG5000_TRAIN.parquet'
  UNION ALL SELECT id, label, series FROM 'data/ECG5000_TEST.parquet';
CREATE TABLE clustered AS
  SELECT e.id, e.label, e.series, vrae_cluster(e.series, m.model) AS cluster FROM ecg e CROSS JOIN model m;

-- Cluster sizes.
SELECT cluster, count(*) AS series FROM clustered GROUP BY cluster ORDER BY cluster;

-- Clusters against labels: the label mix of each cluster.
SELECT cluster,
       sum(CASE WHEN label = 1 THEN 1 ELSE 0 END) AS label_1,
       sum(CASE WHEN label = 2 THEN 1 ELSE 0 END) AS label_2,
       sum(CASE WHEN label = 3 THEN 1 ELSE 0 END) AS label_3,
       sum(CASE WHEN label = 4 THEN 1 ELSE 0 END) AS label_4,
       sum(CASE WHEN label = 5 THEN 1 ELSE 0 END) AS label_5
FROM clustered GROUP BY cluster ORDER BY cluster;

-- Mean shape of each cluster, every 10th of the 140 steps.
SELECT cluster, array_agg(round(mean, 2) ORDER BY step) AS mean_shape_every_10th_step
FROM (
  SELECT cluster, step, avg(series[step]) AS mean
  FROM clustered CROSS JOIN generate_series(1, 140, 10) AS g(step)
  GROUP BY cluster, step
)
GROUP BY cluster ORDER BY cluster;
