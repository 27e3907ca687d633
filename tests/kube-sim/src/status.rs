//! The API server's error type and the `metav1.Status` bodies it turns into, with Kubernetes' own message shapes
//! (k8s.io/apimachinery/pkg/api/errors/errors.go).
use serde_json::{Value, json};

/// A failed API request: the HTTP code, the Status `reason`, the message, and optional `details`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

pub type ApiResult<T> = Result<T, ApiError>;

/// `resource` is the qualified resource as errors.go prints it: `pods`, `deployments.apps`.
impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    fn with_details(mut self, group: &str, kind: &str, name: &str) -> Self {
        let mut d = json!({ "name": name, "kind": kind });
        if !group.is_empty() {
            d["group"] = json!(group);
        }
        self.details = Some(d);
        self
    }

    pub fn not_found(group: &str, resource: &str, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", qualified(group, resource)),
        )
        .with_details(group, resource, name)
    }

    pub fn already_exists(group: &str, resource: &str, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", qualified(group, resource)),
        )
        .with_details(group, resource, name)
    }

    /// errors.NewConflict with the registry's OptimisticLockErrorMsg.
    pub fn conflict(group: &str, resource: &str, name: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                qualified(group, resource)
            ),
        )
        .with_details(group, resource, name)
    }

    /// errors.NewForbidden: `pods "x" is forbidden: <reason>`; with no name, `pods is forbidden: …`.
    pub fn forbidden(group: &str, resource: &str, name: &str, reason: &str) -> Self {
        let subject = if name.is_empty() {
            qualified(group, resource)
        } else {
            format!("{} \"{name}\"", qualified(group, resource))
        };
        Self::new(
            403,
            "Forbidden",
            format!("{subject} is forbidden: {reason}"),
        )
        .with_details(group, resource, name)
    }

    /// errors.NewInvalid: `The Kind "name" is invalid: field: Type: detail` (several causes are joined as `[a, b]`).
    pub fn invalid(group: &str, kind: &str, name: &str, causes: &[FieldError]) -> Self {
        let qualified_kind = if group.is_empty() {
            kind.to_string()
        } else {
            format!("{kind}.{group}")
        };
        let joined = if causes.len() == 1 {
            causes[0].to_string()
        } else {
            format!(
                "[{}]",
                causes
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let mut e = Self::new(
            422,
            "Invalid",
            format!("{qualified_kind} \"{name}\" is invalid: {joined}"),
        );
        let mut d = json!({
            "name": name, "kind": kind,
            "causes": causes.iter().map(|c| json!({"reason": c.kind.reason(), "message": c.message(), "field": c.field})).collect::<Vec<_>>(),
        });
        if !group.is_empty() {
            d["group"] = json!(group);
        }
        e.details = Some(d);
        e
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
    }

    pub fn path_not_found() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            500,
            "InternalError",
            format!("Internal error occurred: {}", message.into()),
        )
    }

    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// The `metav1.Status` body the real API server sends.
    pub fn to_status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        s
    }
}

pub fn qualified(group: &str, resource: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

/// field.Error's types (k8s.io/apimachinery/pkg/util/validation/field/errors.go) as they print.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldErrorKind {
    NotFound(String),
    Forbidden(String),
    Invalid(String, String),
    Required(String),
    Unsupported(String, Vec<String>),
    FieldValueDuplicate(String),
    UnknownField,
}

impl FieldErrorKind {
    fn reason(&self) -> &'static str {
        match self {
            FieldErrorKind::NotFound(_) => "FieldValueNotFound",
            FieldErrorKind::Forbidden(_) => "FieldValueForbidden",
            FieldErrorKind::Invalid(..) => "FieldValueInvalid",
            FieldErrorKind::Required(_) => "FieldValueRequired",
            FieldErrorKind::Unsupported(..) => "FieldValueNotSupported",
            FieldErrorKind::FieldValueDuplicate(_) => "FieldValueDuplicate",
            FieldErrorKind::UnknownField => "FieldValueInvalid",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub kind: FieldErrorKind,
}

impl FieldError {
    pub fn new(field: impl Into<String>, kind: FieldErrorKind) -> Self {
        Self {
            field: field.into(),
            kind,
        }
    }

    /// The part after `field: `, as `ErrorBody()` prints it.
    fn message(&self) -> String {
        match &self.kind {
            FieldErrorKind::NotFound(v) => format!("Not found: {v:?}"),
            FieldErrorKind::Forbidden(d) => format!("Forbidden: {d}"),
            FieldErrorKind::Invalid(v, d) => format!("Invalid value: {v}: {d}"),
            FieldErrorKind::Required(d) if d.is_empty() => "Required value".to_string(),
            FieldErrorKind::Required(d) => format!("Required value: {d}"),
            FieldErrorKind::Unsupported(v, allowed) => format!(
                "Unsupported value: {v:?}: supported values: {}",
                allowed
                    .iter()
                    .map(|a| format!("{a:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            FieldErrorKind::FieldValueDuplicate(v) => format!("Duplicate value: {v:?}"),
            FieldErrorKind::UnknownField => "field not declared in schema".to_string(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_message_matches_the_statefulset_failed_create_text() {
        let e = ApiError::invalid(
            "",
            "Pod",
            "web-0",
            &[FieldError::new(
                "spec.containers[0].volumeMounts[1].name",
                FieldErrorKind::NotFound("storage-volume".into()),
            )],
        );
        assert_eq!(
            e.message,
            "Pod \"web-0\" is invalid: spec.containers[0].volumeMounts[1].name: Not found: \"storage-volume\""
        );
        assert_eq!(e.code, 422);
    }

    #[test]
    fn forbidden_and_conflict_messages() {
        let e = ApiError::forbidden(
            "",
            "pods",
            "x",
            "User \"restricted\" cannot create resource \"pods/exec\" in API group \"\" in the namespace \"obs\"",
        );
        assert_eq!(
            e.message,
            "pods \"x\" is forbidden: User \"restricted\" cannot create resource \"pods/exec\" in API group \"\" in the namespace \"obs\""
        );
        let c = ApiError::conflict("apps", "statefulsets", "s");
        assert!(c.message.starts_with(
            "Operation cannot be fulfilled on statefulsets.apps \"s\": the object has been modified"
        ));
    }
}
