-- ETL: read series from Parquet, write ids with their embeddings, clusters
-- and 2-D projections to Parquet. COPY streams: the input is never held in
-- memory whole. Needs 01_train_ecg5000.sql first.

CREATE EXTERNAL TABLE model STORED AS PARQUET LOCATION 'out/sql/ecg5000_model.parquet';

COPY (
  SELECT s.id, s.label,
         vrae_embed(s.series, m.model) AS embedding,
         vrae_cluster(s.series, m.model) AS cluster,
         vrae_project(s.series, m.model) AS xy
  FROM 'data/ECG5000_TEST.parquet' s CROSS JOIN model m
) TO 'out/sql/ecg5000_test_embedded.parquet' STORED AS PARQUET;

SELECT count(*) AS rows_written, min(array_length(embedding)) AS latent
FROM 'out/sql/ecg5000_test_embedded.parquet';
