//! The one table from a built-in kind name to its k8s-openapi type, used for strict field validation and for the
//! OpenAPI schemas (`dispatch_kind!("Pod", |T| expr)` evaluates `expr` with `T` = `k8s_openapi::api::core::v1::Pod`).

#[macro_export]
macro_rules! dispatch_kind {
    ($kind:expr, |$t:ident| $body:expr) => {{
        #[allow(unused_imports)]
        use k8s_openapi::api::{
            apps::v1 as apps, authorization::v1 as authz, core::v1 as core, discovery::v1 as disc,
            rbac::v1 as rbac, storage::v1 as storage,
        };
        #[allow(unused_imports)]
        use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as ext;
        match $kind {
            "ConfigMap" => {
                type $t = core::ConfigMap;
                Some($body)
            }
            "Endpoints" => {
                type $t = core::Endpoints;
                Some($body)
            }
            "Event" => {
                type $t = core::Event;
                Some($body)
            }
            "Namespace" => {
                type $t = core::Namespace;
                Some($body)
            }
            "Node" => {
                type $t = core::Node;
                Some($body)
            }
            "PersistentVolumeClaim" => {
                type $t = core::PersistentVolumeClaim;
                Some($body)
            }
            "PersistentVolume" => {
                type $t = core::PersistentVolume;
                Some($body)
            }
            "Pod" => {
                type $t = core::Pod;
                Some($body)
            }
            "Secret" => {
                type $t = core::Secret;
                Some($body)
            }
            "ServiceAccount" => {
                type $t = core::ServiceAccount;
                Some($body)
            }
            "Service" => {
                type $t = core::Service;
                Some($body)
            }
            "Deployment" => {
                type $t = apps::Deployment;
                Some($body)
            }
            "ReplicaSet" => {
                type $t = apps::ReplicaSet;
                Some($body)
            }
            "StatefulSet" => {
                type $t = apps::StatefulSet;
                Some($body)
            }
            "StorageClass" => {
                type $t = storage::StorageClass;
                Some($body)
            }
            "CSIDriver" => {
                type $t = storage::CSIDriver;
                Some($body)
            }
            "Role" => {
                type $t = rbac::Role;
                Some($body)
            }
            "RoleBinding" => {
                type $t = rbac::RoleBinding;
                Some($body)
            }
            "ClusterRole" => {
                type $t = rbac::ClusterRole;
                Some($body)
            }
            "ClusterRoleBinding" => {
                type $t = rbac::ClusterRoleBinding;
                Some($body)
            }
            "CustomResourceDefinition" => {
                type $t = ext::CustomResourceDefinition;
                Some($body)
            }
            "SelfSubjectAccessReview" => {
                type $t = authz::SelfSubjectAccessReview;
                Some($body)
            }
            "EndpointSlice" => {
                type $t = disc::EndpointSlice;
                Some($body)
            }
            _ => None,
        }
    }};
}
