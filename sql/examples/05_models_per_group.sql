-- One model per group with GROUP BY: here one model per ECG5000 label, each
-- trained only on its own group's heartbeats, then every heartbeat scored by
-- its own group's model. Groups train in parallel where partitions allow.

CREATE VIEW ecg AS SELECT id, label, series FROM 'data/ECG5000_TRAIN.parquet';

CREATE TABLE models AS
SELECT label, count(*) AS trained_on, vrae_fit(series, '{"epochs": 20, "hidden_size": 32, "latent": 8}') AS model
FROM ecg GROUP BY label;

SELECT label, trained_on FROM models ORDER BY label;

-- The 5 worst-reconstructed heartbeats of each group, by their group's model.
SELECT label, id, score FROM (
  SELECT e.label, e.id, round(vrae_score(e.series, m.model), 4) AS score,
         row_number() OVER (PARTITION BY e.label ORDER BY vrae_score(e.series, m.model) DESC) AS rank
  FROM ecg e JOIN models m USING (label)
) WHERE rank <= 5 ORDER BY label, score DESC;
