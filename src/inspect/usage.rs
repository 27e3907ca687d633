//! The kubelet's volume usage (`GET /api/v1/nodes/NODE/proxy/stats/summary`), read and parsed in one place for
//! every verb: doctor's disk checks and resize's plan read the same rows; and `df` in the container, the fallback
//! where the kubelet gives none (one claim's [`Usage`], for resize's plan and its verification).

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

/// Filesystem usage of one mounted claim, as one figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub capacity_bytes: u64,
    pub used_bytes: u64,
    pub available_bytes: u64,
    pub source: UsageSource,
}

/// Where a usage figure came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum UsageSource {
    /// The kubelet's `/stats/summary` through `nodes/proxy`.
    StatsSummary,
    /// `df` run in the container.
    Df,
}

impl Usage {
    /// Used share of the filesystem, in percent (rounded down).
    pub fn used_percent(&self) -> u64 {
        if self.capacity_bytes == 0 {
            return 0;
        }
        // Same basis as `df`: used / (used + available), which excludes reserved blocks.
        let basis = (self.used_bytes + self.available_bytes).max(1);
        self.used_bytes.saturating_mul(100) / basis
    }

    /// Less than 15% free: the KubePersistentVolumeFillingUp warning threshold (kube-prometheus-stack rules).
    pub fn nearly_full(&self) -> bool {
        self.capacity_bytes > 0
            && self.available_bytes.saturating_mul(100) < self.capacity_bytes * 15
    }
}

impl VolumeUsage {
    /// The row as one claim's usage figure.
    pub fn usage(&self, source: UsageSource) -> Usage {
        Usage {
            capacity_bytes: self.capacity_bytes,
            used_bytes: self.used_bytes,
            available_bytes: self.available_bytes,
            source,
        }
    }
}

/// Parse `df -k` output (POSIX and GNU/busybox): the last line's 1K-blocks, Used and Available columns.
pub fn parse_df_k(text: &str) -> Option<Usage> {
    // A long device name wraps onto its own line in some df versions: join the data lines' fields.
    let fields: Vec<&str> = text
        .lines()
        .skip(1)
        .flat_map(str::split_whitespace)
        .collect();
    // Filesystem 1K-blocks Used Available Use% Mounted-on
    let numbers: Vec<u64> = fields.iter().filter_map(|f| f.parse().ok()).collect();
    if numbers.len() < 3 {
        return None;
    }
    // Saturating: exec output is untrusted, and a wrapped product would read as a small (nearly empty) volume.
    Some(Usage {
        capacity_bytes: numbers[0].saturating_mul(1024),
        used_bytes: numbers[1].saturating_mul(1024),
        available_bytes: numbers[2].saturating_mul(1024),
        source: UsageSource::Df,
    })
}

/// `df -k MOUNT` in one container (fails quietly: `None` when the container is not running or has no `df`).
pub async fn df(
    exec: &dyn crate::podexec::PodExec,
    namespace: &str,
    pod: &str,
    container: &str,
    mount_path: &str,
) -> Option<Usage> {
    if mount_path.is_empty() {
        return None;
    }
    let argv = vec!["df".to_string(), "-k".to_string(), mount_path.to_string()];
    let stdout = crate::podexec::stdout_of(exec, namespace, pod, container, &argv).await?;
    parse_df_k(&stdout)
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

    /// The kubelet leaves a stat out when it has none (`availableBytes` is `*uint64`, omitempty, in
    /// k8s.io/kubelet/pkg/apis/stats/v1alpha1/types.go): a missing figure is not zero. Resize once read a missing
    /// `availableBytes` as 0 free (a volume that is not full looked 100% used).
    #[test]
    fn a_claim_row_is_found_by_namespace_and_claim_and_missing_available_is_not_full() {
        let text = r#"{"pods": [
            {"podRef": {"name": "other", "namespace": "monitoring"}, "volume": [{"name": "tmp", "usedBytes": 1}]},
            {"podRef": {"name": "p-0", "namespace": "monitoring"}, "volume": [
                {"name": "data", "pvcRef": {"name": "data-p-0", "namespace": "monitoring"},
                 "capacityBytes": 1000, "usedBytes": 100}]}]}"#;
        let rows = parse_stats_summary(text).unwrap();
        let usage = VolumeUsage::of_claim(&rows, "monitoring", "data-p-0")
            .unwrap()
            .usage(UsageSource::StatsSummary);
        assert_eq!(
            (
                usage.capacity_bytes,
                usage.used_bytes,
                usage.available_bytes
            ),
            (1000, 100, 900)
        );
        assert!(!usage.nearly_full());
        assert!(VolumeUsage::of_claim(&rows, "other-ns", "data-p-0").is_none());
    }

    #[test]
    fn df_output_is_parsed() {
        let gnu = "Filesystem     1K-blocks    Used Available Use% Mounted on\ntmpfs              65536   65536         0 100% /data\n";
        let usage = parse_df_k(gnu).unwrap();
        assert_eq!(usage.capacity_bytes, 65536 * 1024);
        assert_eq!(usage.available_bytes, 0);
        assert!(usage.nearly_full());
        let wrapped = "Filesystem 1K-blocks Used Available Use% Mounted on\n/dev/mapper/very-long-name\n  1000 10 990 1% /data\n";
        assert_eq!(parse_df_k(wrapped).unwrap().used_bytes, 10 * 1024);
        assert!(parse_df_k("df: /data: No such file or directory\n").is_none());
    }
}
