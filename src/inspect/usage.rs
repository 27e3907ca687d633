//! The kubelet's volume usage (`GET /api/v1/nodes/NODE/proxy/stats/summary`), read and parsed in one place for
//! every verb: doctor's disk checks and resize's plan read the same rows.

use crate::inspect::snapshot::Data;
use crate::inspect::snapshot::Gap;

/// Kubelet volume stats of one pod volume (`stats/summary`, prometheus-facts §6.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeUsage {
    pub pod: String,
    /// The pod's namespace (`podRef.namespace`).
    pub namespace: String,
    /// The pod volume name.
    pub volume: String,
    pub pvc: Option<String>,
    pub capacity_bytes: u64,
    pub used_bytes: u64,
    pub available_bytes: u64,
}

impl VolumeUsage {
    /// The row of claim `claim` of namespace `namespace`, if the summary has one.
    pub fn of_claim<'a>(
        rows: &'a [VolumeUsage],
        namespace: &str,
        claim: &str,
    ) -> Option<&'a VolumeUsage> {
        rows.iter()
            .find(|u| u.namespace == namespace && u.pvc.as_deref() == Some(claim))
    }
}

/// Kubelet `stats/summary` through the API server's node proxy (needs `nodes/proxy`).
pub async fn node_stats(
    client: &kube::Client,
    node: &str,
) -> std::result::Result<Vec<VolumeUsage>, Gap> {
    let request = http::Request::get(format!("/api/v1/nodes/{node}/proxy/stats/summary"))
        .body(Vec::new())
        .map_err(|e| Gap::absent(Data::VolumeStats, e.to_string()))?;
    let asked = format!("GET /api/v1/nodes/{node}/proxy/stats/summary");
    let text = client
        .request_text(request)
        .await
        .map_err(|e| Gap::from_kube(Data::VolumeStats, asked.clone(), &e))?;
    parse_stats_summary(&text).map_err(|reason| Gap {
        request: Some(asked),
        // The kubelet answered (2xx), just not with a summary.
        status: Some(200),
        ..Gap::absent(Data::VolumeStats, reason)
    })
}

/// The PVC-backed volumes of every pod in a kubelet stats summary (prometheus-facts.md §6.2).
pub fn parse_stats_summary(text: &str) -> std::result::Result<Vec<VolumeUsage>, String> {
    let summary: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("stats/summary is not JSON: {e}"))?;
    let mut out = Vec::new();
    for pod in summary
        .get("pods")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
    {
        let pod_name = pod
            .pointer("/podRef/name")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let pod_namespace = pod
            .pointer("/podRef/namespace")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        for v in pod
            .get("volume")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            let num = |k: &str| v.get(k).and_then(|x| x.as_u64());
            let (Some(capacity), Some(used)) = (num("capacityBytes"), num("usedBytes")) else {
                continue;
            };
            out.push(VolumeUsage {
                pod: pod_name.to_string(),
                namespace: pod_namespace.to_string(),
                volume: v
                    .get("name")
                    .and_then(|x| x.as_str())
                    .unwrap_or_default()
                    .to_string(),
                pvc: v
                    .pointer("/pvcRef/name")
                    .and_then(|x| x.as_str())
                    .map(str::to_string),
                capacity_bytes: capacity,
                used_bytes: used,
                available_bytes: num("availableBytes").unwrap_or(capacity.saturating_sub(used)),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_summary_keeps_pvc_volumes_with_numbers() {
        let text = r#"{"node":{"nodeName":"node-1"},"pods":[{"podRef":{"name":"prometheus-server-0","namespace":"monitoring","uid":"u"},
          "volume":[{"name":"storage-volume","pvcRef":{"name":"prometheus-server","namespace":"monitoring"},"capacityBytes":8589934592,"usedBytes":8000000000,"availableBytes":589934592},
                    {"name":"kube-api-access-x"}]}]}"#;
        let rows = parse_stats_summary(text).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].pvc.as_deref(), Some("prometheus-server"));
        assert_eq!(rows[0].available_bytes, 589934592);
        assert!(parse_stats_summary("<html>").is_err());
    }
}
