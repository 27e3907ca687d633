//! How a Prometheus was installed, beyond its flavour: which chart and version rendered it, the source of truth
//! that will put its own version back after a change (Helm values, Git through Argo CD or Flux, a kubectl-applied
//! manifest), where live state already drifted from the last apply, and the note each verb prints after a change
//! (issue 18). Recognition and notes are pure; [`read_release_records`] is the one read (the Helm release Secret,
//! used when allowed, never required).

pub mod chart;
pub mod notes;
pub mod source;

pub use chart::{Chart, ChartId, Evidence};
pub use notes::{
    Key, NotedChange, Subject, after_change, extra_flags_with, values_change, values_key,
};
pub use source::{Drift, Source};

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Where an instance's install object came from and how far its live state is from that.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Origin {
    pub source: Source,
    /// Fields the verbs change whose live value differs from the object's own last-applied configuration.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<Drift>,
    /// The object the source and drift are about: `deploy/x`, `sts/x`, `prometheus/x`, `pod/x`.
    pub object: String,
}

impl Default for Origin {
    fn default() -> Self {
        Origin {
            source: Source::Unknown,
            drift: Vec::new(),
            object: String::new(),
        }
    }
}

impl Origin {
    /// The chart identity, if a chart rendered it.
    pub fn chart(&self) -> Option<&ChartId> {
        self.source.chart()
    }

    /// The note for a change to this install (see [`after_change`]).
    pub fn note(&self, change: &NotedChange) -> Option<String> {
        after_change(&self.source, change)
    }
}

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// Recognise one install object: a Deployment, StatefulSet or bare Pod (chart or plain installs), or the operator's
/// `Prometheus` resource. `object` is it as JSON (what the API returned); `image` and `container` are the
/// Prometheus container's. Labels of the pod template count too (charts label both alike; some only the template).
pub fn recognise(object: &Value, object_ref: &str, image: &str, container: &str) -> Origin {
    let mut labels = string_map(object.pointer("/spec/template/metadata/labels"));
    labels.extend(string_map(object.pointer("/metadata/labels")));
    let marks = chart::Marks {
        labels,
        annotations: string_map(object.pointer("/metadata/annotations")),
        image,
    };
    let chart = chart::from_labels(&marks);
    let managed = object
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut source = source::recognise(&marks, &managed, chart);
    // Helm 3 annotates the release namespace; older objects only sit in it.
    if let Source::Helm { namespace, .. } = &mut source
        && namespace.is_empty()
    {
        *namespace = object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
    }
    Origin {
        source,
        drift: source::drift(object, kind_of(object_ref), container),
        object: object_ref.to_string(),
    }
}

/// The API kind behind `deploy/x`, `sts/x`, `prometheus/x`, `pod/x` (list items may carry no `kind`).
fn kind_of(object_ref: &str) -> &'static str {
    match object_ref.split('/').next() {
        Some("prometheus") => "Prometheus",
        Some("sts") => "StatefulSet",
        Some("pod") => "Pod",
        _ => "Deployment",
    }
}

/// How to move data off an emptyDir onto a claim (resize's refusal when there is no claim, issue 18 item 8): the
/// chart's persistence values where we know them, else a claim mounted in place of the emptyDir — and that the new
/// pod starts empty either way, since nothing copies an emptyDir.
pub fn move_to_claim(origin: &Origin) -> String {
    let how = match (&origin.source, origin.chart()) {
        (Source::Helm { release, .. }, Some(c)) => match values_key(c, Key::VolumeSize) {
            Some(k) => format!(
                "turn on the chart's persistence in the values of Helm release {} (`{k}` and the `enabled` key beside it) and upgrade",
                crate::escape::escape(release)
            ),
            None => format!(
                "turn on persistence in the values of Helm release {} ({})",
                crate::escape::escape(release),
                c.display()
            ),
        },
        _ => format!(
            "create a PersistentVolumeClaim and mount it in {} in place of the emptyDir",
            crate::escape::escape(&origin.object)
        ),
    };
    format!(
        "the data is on an emptyDir, which is lost with the pod; to keep it on a volume, {how} (the new pod starts on the empty claim: nothing copies an emptyDir), then resize that claim"
    )
}

/// Replace label-told chart identities with the release record's where the caller may read it (`list secrets` in
/// the release's namespace, `owner=helm,name=RELEASE`, the highest revision); when refused, mark the identity as
/// told from labels for that reason. Nothing else of the record is kept or printed: its values may hold credentials.
pub async fn read_release_records(client: &kube::Client, origins: &mut [&mut Origin]) {
    use k8s_openapi::api::core::v1::Secret;
    let mut cache: BTreeMap<(String, String), Option<Result<ChartId, ()>>> = BTreeMap::new();
    for origin in origins.iter_mut() {
        let Source::Helm {
            release,
            namespace,
            chart,
        } = &mut origin.source
        else {
            continue;
        };
        if namespace.is_empty() {
            continue;
        }
        let key = (namespace.clone(), release.clone());
        if !cache.contains_key(&key) {
            let api: kube::Api<Secret> = kube::Api::namespaced(client.clone(), namespace);
            let lp = kube::api::ListParams::default().labels(&format!("owner=helm,name={release}"));
            let found = match api.list(&lp).await {
                Ok(list) => list
                    .items
                    .iter()
                    .filter(|s| s.type_.as_deref() == Some("helm.sh/release.v1"))
                    .max_by_key(|s| {
                        s.metadata
                            .labels
                            .as_ref()
                            .and_then(|l| l.get("version"))
                            .and_then(|v| v.parse::<u64>().ok())
                            .unwrap_or(0)
                    })
                    .and_then(|s| s.data.as_ref()?.get("release"))
                    .and_then(|b| chart::decode_record(&b.0))
                    .map(|r| Ok(chart::from_record(&r))),
                Err(kube::Error::Api(e)) if e.code == 403 => Some(Err(())),
                Err(_) => None,
            };
            cache.insert(key.clone(), found);
        }
        match cache.get(&key).cloned().flatten() {
            Some(Ok(id)) => *chart = Some(id),
            Some(Err(())) => {
                if let Some(c) = chart.as_mut() {
                    c.evidence = Evidence::LabelsRecordForbidden;
                }
            }
            None => {}
        }
    }
}
