//! The documentation of every vrae SQL function, as DataFusion shows it in
//! `information_schema.routines` (description, syntax example). `SHOW
//! FUNCTIONS` lists only functions with typed signatures, and the vrae
//! functions take any list type, so they are not in it.
//! One place, so that the scalar functions, the aggregate and the tests
//! read the same text.

use std::collections::HashMap;
use std::sync::OnceLock;

use datafusion::logical_expr::{DocSection, Documentation};

const SECTION: DocSection =
    DocSection { include: true, label: "vrae", description: Some("Time-series clustering with a Variational Recurrent Autoencoder") };

const SERIES: &str = "A series: a list of numbers (univariate) or a list of equal-length lists, one per step (multivariate, time-major).";
const MODEL: &str =
    "The model: its bytes (Binary, LargeBinary or BinaryView, e.g. vrae_fit's result through a join or a scalar subquery) or the path of a model file (Utf8).";
const OPTIONS: &str =
    "Optional constant JSON object: '{\"on_invalid\": \"null\"}' gives null for a series the model cannot take instead of an error.";

/// One function's text: its name, what it returns, its syntax and an example.
struct Entry {
    name: &'static str,
    description: &'static str,
    syntax: &'static str,
    example: &'static str,
}

const SCALARS: &[Entry] = &[
    Entry {
        name: "vrae_embed",
        description: "The latent mean of each series under the model (a list of Float32, as long as the model's latent).",
        syntax: "vrae_embed(series, model [, options])",
        example: "SELECT id, vrae_embed(series, 'model.safetensors') AS latent FROM 'data/ECG5000_TEST.parquet'",
    },
    Entry {
        name: "vrae_cluster",
        description: "The cluster (Int32, from 0) of each series: the vote of its nearest training series, compared by latent and shape (`clustering: \"spectral_series\"`, the default) or by latent alone (`\"spectral\"`), or its nearest k-means centroid; the model must have been trained with `clusters`.",
        syntax: "vrae_cluster(series, model [, options])",
        example: "SELECT vrae_cluster(series, 'model.safetensors') AS cluster, count(*) FROM 'data/ECG5000_TEST.parquet' GROUP BY 1",
    },
    Entry {
        name: "vrae_score",
        description: "The mean squared reconstruction error of each series (Float64) in the scaled units the model learned in: high for series unlike the training data, for ranking anomalies.",
        syntax: "vrae_score(series, model [, options])",
        example: "SELECT id FROM 'data/ECG5000_TEST.parquet' ORDER BY vrae_score(series, 'model.safetensors') DESC LIMIT 10",
    },
    Entry {
        name: "vrae_project",
        description: "The 2-D PCA coordinates of each series' latent (a fixed-size list of 2 Float32), with the PCA stored in the model.",
        syntax: "vrae_project(series, model [, options])",
        example: "SELECT vrae_project(series, 'model.safetensors') AS xy FROM 'data/ECG5000_TEST.parquet'",
    },
    Entry {
        name: "vrae_reconstruct",
        description: "Each series decoded from its latent, with the input's length, channels and units (List<Float32>, or a list of per-step lists).",
        syntax: "vrae_reconstruct(series, model [, options])",
        example: "SELECT series, vrae_reconstruct(series, 'model.safetensors') FROM 'data/ECG5000_TEST.parquet' LIMIT 1",
    },
];

const MODEL_INFO: Entry = Entry {
    name: "vrae_model_info",
    description: "The model's options, format version and training summary as a JSON string.",
    syntax: "vrae_model_info(model)",
    example: "SELECT vrae_model_info('model.safetensors')",
};

const FIT: Entry = Entry {
    name: "vrae_fit",
    description: "Trains a model on every series of the group (an aggregate: one model per GROUP BY group) and returns its bytes (BinaryView); null series are left out. The model depends on the set of series, not their order, the batch sizes or the partitions.",
    syntax: "vrae_fit(series [, options])",
    example: "COPY (SELECT vrae_fit(series, '{\"clusters\": 5}') AS model FROM 'data/ECG5000_TRAIN.parquet') TO 'model.parquet'",
};

fn build(entry: &Entry) -> Documentation {
    let builder = Documentation::builder(SECTION, entry.description, entry.syntax).with_sql_example(entry.example);
    let builder = match entry.name {
        "vrae_model_info" => builder.with_argument("model", MODEL),
        "vrae_fit" => builder.with_argument("series", SERIES).with_argument(
            "options",
            "Optional constant JSON object of training options (README, Options), e.g. '{\"clusters\": 5, \"seed\": 0}'; \"on_invalid\": \"null\" leaves out series that cannot be used.",
        ),
        _ => builder.with_argument("series", SERIES).with_argument("model", MODEL).with_argument("options", OPTIONS),
    };
    builder.build()
}

/// The documentation of the vrae function `name`, if there is one.
pub fn documentation(name: &str) -> Option<&'static Documentation> {
    static DOCS: OnceLock<HashMap<&'static str, Documentation>> = OnceLock::new();
    DOCS.get_or_init(|| SCALARS.iter().chain([&MODEL_INFO, &FIT]).map(|e| (e.name, build(e))).collect()).get(name)
}
