//! The plan machinery against the real API server (kube-apiserver 1.36 with kube-sim as the node, issue 16) with a
//! real kube client: a patch built from an object that somebody else changed in the meantime is refused with 409
//! (never overwrites the concurrent edit), `--dry-run` sends dryRun=All (nothing changes), and a fresh patch applies
//! exactly the diff. The real kubectl is the witness. They need root, `prometheus` and the built world
//! (`tools/world/build.sh`); they print a skip notice otherwise (and fail under `KUBE_SIM_REQUIRE=1`).

mod support;

use k8s_openapi::api::apps::v1::Deployment;
use kubectl_prom::cli::OutputFormat;
use kubectl_prom::context::{Ctx, Scope, Settings};
use kubectl_prom::engine::{self as plan, Plan, Step};
use kubectl_prom::ui::Printer;
use support::{kubectl, kubectl_json, start};

async fn ctx_for(cluster: &support::Cluster, dry_run: bool) -> Ctx {
    let kubeconfig =
        kube::config::Kubeconfig::read_from(cluster.kubeconfig_path()).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .expect("config");
    let client = kube::Client::try_from(config).expect("client");
    Ctx {
        exec: std::sync::Arc::new(kubectl_prom::podexec::KubeExec::new(client.clone())),
        client,
        settings: Settings {
            scope: Scope::Namespace("monitoring".into()),
            output: OutputFormat::Human,
            assume_yes: true,
            dry_run,
            interactive: false,
            verbose: 0,
            impersonation: None,
        },
        printer: Printer {
            quiet: true,
            verbose: 0,
            color: false,
            stderr_is_tty: false,
        },
        requests: Default::default(),
    }
}

fn with_extra_arg(d: &Deployment, arg: &str) -> Deployment {
    let mut after = d.clone();
    let spec = after.spec.as_mut().unwrap().template.spec.as_mut().unwrap();
    let c = spec
        .containers
        .iter_mut()
        .find(|c| c.name == "prometheus-server")
        .unwrap();
    c.args.get_or_insert_with(Vec::new).push(arg.to_string());
    after
}

fn server_args(cluster: &support::Cluster) -> Vec<String> {
    let d = kubectl_json(
        cluster,
        &["get", "deploy", "prometheus-server", "-n", "monitoring"],
    );
    d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "prometheus-server")
        .unwrap()["args"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn stale_patches_conflict_dry_runs_change_nothing_and_fresh_patches_apply() {
    let Some(cluster) = start("chart-healthy") else {
        return;
    };
    let ctx = ctx_for(&cluster, false).await;
    let api: kube::Api<Deployment> = kube::Api::namespaced(ctx.client.clone(), "monitoring");
    let stale = api.get("prometheus-server").await.expect("read deployment");

    // Somebody else edits the Deployment after we read it.
    kubectl(
        &cluster,
        &[
            "annotate",
            "deploy",
            "prometheus-server",
            "-n",
            "monitoring",
            "someone-else=was-here",
        ],
    );
    let mut plan = Plan::new("test");
    plan.steps
        .extend(Step::patch(&stale, &with_extra_arg(&stale, "--log.level=debug"), "test").unwrap());
    let err = plan::apply(&ctx, &plan)
        .await
        .expect_err("a stale patch must be refused");
    assert!(
        err.to_string()
            .contains("the object changed since it was read (409 Conflict)"),
        "{err}"
    );
    assert!(
        !server_args(&cluster).contains(&"--log.level=debug".to_string()),
        "the stale patch was applied"
    );
    let annotations = kubectl_json(
        &cluster,
        &["get", "deploy", "prometheus-server", "-n", "monitoring"],
    );
    assert_eq!(
        annotations["metadata"]["annotations"]["someone-else"], "was-here",
        "the concurrent edit was lost"
    );

    // Re-read, dry run: accepted by the server, nothing persisted.
    let fresh = api.get("prometheus-server").await.expect("read deployment");
    let mut plan = Plan::new("test");
    plan.steps
        .extend(Step::patch(&fresh, &with_extra_arg(&fresh, "--log.level=debug"), "test").unwrap());
    let dry = ctx_for(&cluster, true).await;
    let applied = plan::apply(&dry, &plan).await.expect("dry run");
    assert!(applied[0].dry_run);
    assert!(
        !server_args(&cluster).contains(&"--log.level=debug".to_string()),
        "--dry-run persisted the change"
    );

    // For real: exactly the new arg is added, the rest of the args are kept in order.
    let before = server_args(&cluster);
    plan::apply(&ctx, &plan).await.expect("apply");
    let mut expected = before;
    expected.push("--log.level=debug".to_string());
    assert_eq!(server_args(&cluster), expected);
}
