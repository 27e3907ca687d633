//! Which chart installed a Prometheus, and at which version: from the labels the charts render and, where the
//! caller may read it, the Helm release's own record (pure; the record's bytes are read in `super::gather`).

use serde::Serialize;
use std::collections::BTreeMap;

/// The charts whose values keys we know (issue 18 item 1). The chart *name* is not unique: Bitnami's chart and the
/// prometheus-community chart are both called `prometheus`, so the publisher is part of the identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind", content = "name")]
pub enum Chart {
    /// prometheus-community/prometheus.
    CommunityPrometheus,
    /// prometheus-community/kube-prometheus-stack (Helm and the operator).
    KubePrometheusStack,
    /// bitnami/prometheus.
    BitnamiPrometheus,
    /// bitnami/kube-prometheus (Helm and the operator).
    BitnamiKubePrometheus,
    /// Any other chart, by the name its label or record gives: we know none of its values keys.
    Other(String),
}

impl Chart {
    /// How a person names it: `prometheus-community/prometheus`, `bitnami/prometheus`, or the bare name.
    pub fn display(&self) -> String {
        match self {
            Chart::CommunityPrometheus => "prometheus-community/prometheus".into(),
            Chart::KubePrometheusStack => "prometheus-community/kube-prometheus-stack".into(),
            Chart::BitnamiPrometheus => "bitnami/prometheus".into(),
            Chart::BitnamiKubePrometheus => "bitnami/kube-prometheus".into(),
            Chart::Other(name) => format!("chart `{}`", crate::escape::escape(name)),
        }
    }

    /// The chart reference `helm upgrade` takes for it (the publisher's documented repository); None for a chart we
    /// do not know, so no command that could switch the release to another chart is ever printed.
    pub fn reference(&self) -> Option<&'static str> {
        match self {
            Chart::CommunityPrometheus => Some("prometheus-community/prometheus"),
            Chart::KubePrometheusStack => Some("prometheus-community/kube-prometheus-stack"),
            // Bitnami publishes its charts as OCI artifacts (bitnami/charts README "TL;DR").
            Chart::BitnamiPrometheus => Some("oci://registry-1.docker.io/bitnamicharts/prometheus"),
            Chart::BitnamiKubePrometheus => {
                Some("oci://registry-1.docker.io/bitnamicharts/kube-prometheus")
            }
            Chart::Other(_) => None,
        }
    }
}

/// Where the identity came from: the release record is the chart's own word; labels are what the chart rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Evidence {
    /// The Helm release Secret (`sh.helm.release.v1.NAME.vN`) was read.
    ReleaseRecord,
    /// Labels and images only (the record was not looked for).
    Labels,
    /// Labels and images only, because reading the record was refused (`get secrets` is not allowed).
    LabelsRecordForbidden,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChartId {
    pub chart: Chart,
    /// The chart version, e.g. `25.8.0`.
    pub version: Option<String>,
    pub evidence: Evidence,
}

impl ChartId {
    /// `bitnami/prometheus 1.3.2`, `chart `foo` 0.1.0`.
    pub fn display(&self) -> String {
        match &self.version {
            Some(v) => format!("{} {}", self.chart.display(), crate::escape::escape(v)),
            None => self.chart.display(),
        }
    }

    /// A sentence for when the identity rests on labels only because the record could not be read.
    pub fn caveat(&self) -> Option<String> {
        (self.evidence == Evidence::LabelsRecordForbidden).then(|| {
            format!(
                "the chart ({}) is told from its labels and images: the release record could not be read (reading it needs `get secrets`)",
                self.display()
            )
        })
    }
}

/// `prometheus-25.8.0` → (`prometheus`, `25.8.0`); `kube-prometheus-stack-88.5.3` → (`kube-prometheus-stack`,
/// `88.5.3`). Helm's `NAME-VERSION` label (both charts' `_helpers.tpl` "chart" helper: `printf "%s-%s" .Chart.Name
/// .Chart.Version`): the version is what follows the last `-` that is followed by a digit.
pub fn split_chart_label(label: &str) -> (String, Option<String>) {
    let bytes = label.as_bytes();
    for (i, b) in bytes.iter().enumerate().rev() {
        if *b == b'-' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
            return (label[..i].to_string(), Some(label[i + 1..].to_string()));
        }
    }
    (label.to_string(), None)
}

/// What the cluster says about one object (a workload, or the operator's `Prometheus` resource) and its pods.
#[derive(Debug, Clone, Default)]
pub struct Marks<'a> {
    /// The object's labels merged over its pod template's (the object's win).
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// The Prometheus container's image (Bitnami's is `…/bitnami/prometheus`).
    pub image: &'a str,
}

/// The chart a Helm-rendered object came from, from its labels and image; None when no chart label is there.
pub fn from_labels(marks: &Marks) -> Option<ChartId> {
    let label = marks
        .labels
        .get("helm.sh/chart")
        .or_else(|| marks.labels.get("chart"))?;
    let (name, version) = split_chart_label(label);
    let bitnami = is_bitnami(marks);
    let chart = classify(&name, bitnami);
    Some(ChartId {
        chart,
        version,
        evidence: Evidence::Labels,
    })
}

/// Bitnami's images live under `bitnami/` (`docker.io/bitnami/prometheus`) and its charts mount the config under
/// `/opt/bitnami` (bitnami/charts bitnami/prometheus/templates/server/deployment.yaml); the community chart uses
/// `quay.io/prometheus/prometheus`.
fn is_bitnami(marks: &Marks) -> bool {
    let repo = marks.image.split('@').next().unwrap_or(marks.image);
    let path = repo
        .rsplit_once(':')
        .map_or(repo, |(p, tag)| if tag.contains('/') { repo } else { p });
    path.split('/')
        .any(|part| part == "bitnami" || part == "bitnamilegacy")
        || marks
            .labels
            .get("app.kubernetes.io/name")
            .is_some_and(|n| n == "kube-prometheus")
}

fn classify(name: &str, bitnami: bool) -> Chart {
    match (name, bitnami) {
        ("prometheus", false) => Chart::CommunityPrometheus,
        ("prometheus", true) => Chart::BitnamiPrometheus,
        ("kube-prometheus-stack", _) => Chart::KubePrometheusStack,
        ("kube-prometheus", _) => Chart::BitnamiKubePrometheus,
        (other, _) => Chart::Other(other.to_string()),
    }
}

/// The chart metadata a Helm 3 release record holds (`chart.metadata` of the release JSON, helm pkg/chart
/// Metadata). Values are never kept: they may hold credentials.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordChart {
    pub name: String,
    pub version: Option<String>,
    pub home: Option<String>,
    pub sources: Vec<String>,
}

/// Decode a release record: the Secret's `release` data is base64(gzip(JSON)) (helm pkg/storage/driver/util.go
/// `encodeRelease`; `decodeRelease` also accepts un-gzipped JSON). Only `chart.metadata` is read.
pub fn decode_record(data: &[u8]) -> Option<RecordChart> {
    use base64::Engine;
    use std::io::Read;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(data.trim_ascii())
        .ok()?;
    let json = if raw.starts_with(&[0x1f, 0x8b, 0x08]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .take(64 << 20)
            .read_to_end(&mut out)
            .ok()?;
        out
    } else {
        raw
    };
    let v: serde_json::Value = serde_json::from_slice(&json).ok()?;
    let meta = v.pointer("/chart/metadata")?;
    let s = |k: &str| meta.get(k).and_then(|x| x.as_str()).map(str::to_string);
    Some(RecordChart {
        name: s("name")?,
        version: s("version"),
        home: s("home"),
        sources: meta
            .get("sources")
            .and_then(|x| x.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// The identity from a release record: the publisher from its home and sources (Bitnami's charts point at
/// bitnami.com / github.com/bitnami, the community's at prometheus.io / prometheus-community).
pub fn from_record(record: &RecordChart) -> ChartId {
    let bitnami = record
        .home
        .iter()
        .chain(record.sources.iter())
        .any(|u| u.contains("bitnami"));
    ChartId {
        chart: classify(&record.name, bitnami),
        version: record.version.clone(),
        evidence: Evidence::ReleaseRecord,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marks<'a>(labels: &[(&str, &str)], image: &'a str) -> Marks<'a> {
        Marks {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            annotations: BTreeMap::new(),
            image,
        }
    }

    #[test]
    fn chart_labels_split_at_the_version() {
        assert_eq!(
            split_chart_label("kube-prometheus-stack-88.5.3"),
            ("kube-prometheus-stack".into(), Some("88.5.3".into()))
        );
        assert_eq!(
            split_chart_label("prometheus-25.8.0"),
            ("prometheus".into(), Some("25.8.0".into()))
        );
        assert_eq!(split_chart_label("mychart"), ("mychart".into(), None));
    }

    #[test]
    fn bitnami_and_community_prometheus_are_told_apart_by_image() {
        let community = marks(
            &[("helm.sh/chart", "prometheus-25.8.0")],
            "quay.io/prometheus/prometheus:v2.48.0",
        );
        assert_eq!(
            from_labels(&community).unwrap().chart,
            Chart::CommunityPrometheus
        );
        let bitnami = marks(
            &[("helm.sh/chart", "prometheus-1.3.2")],
            "docker.io/bitnami/prometheus:2.53.1-debian-12-r0",
        );
        let id = from_labels(&bitnami).unwrap();
        assert_eq!(id.chart, Chart::BitnamiPrometheus);
        assert_eq!(id.version.as_deref(), Some("1.3.2"));
        // A registry with a port is not mistaken for a tag.
        let mirrored = marks(
            &[("helm.sh/chart", "prometheus-1.3.2")],
            "registry.local:5000/bitnami/prometheus",
        );
        assert_eq!(
            from_labels(&mirrored).unwrap().chart,
            Chart::BitnamiPrometheus
        );
        let legacy = marks(&[("chart", "prometheus-15.0.0")], "prom/prometheus:v2.30.0");
        assert_eq!(
            from_labels(&legacy).unwrap().chart,
            Chart::CommunityPrometheus
        );
        assert!(from_labels(&marks(&[], "prom/prometheus")).is_none());
    }

    #[test]
    fn a_release_record_is_decoded_and_names_the_publisher() {
        use base64::Engine;
        use std::io::Write;
        let json = serde_json::json!({"name": "mon", "version": 3, "chart": {"metadata": {
            "name": "prometheus", "version": "1.3.2", "home": "https://bitnami.com",
            "sources": ["https://github.com/bitnami/charts/tree/main/bitnami/prometheus"]}},
            "config": {"secret": "never read"}});
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(json.to_string().as_bytes()).unwrap();
        let data = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
        let rec = decode_record(data.as_bytes()).unwrap();
        assert_eq!(rec.name, "prometheus");
        let id = from_record(&rec);
        assert_eq!(id.chart, Chart::BitnamiPrometheus);
        assert_eq!(id.version.as_deref(), Some("1.3.2"));
        assert_eq!(id.evidence, Evidence::ReleaseRecord);
        // Plain JSON (helm accepts it too) and garbage.
        let plain = base64::engine::general_purpose::STANDARD.encode(json.to_string());
        assert_eq!(decode_record(plain.as_bytes()).unwrap().name, "prometheus");
        assert!(decode_record(b"not base64 at all!").is_none());
    }
}
