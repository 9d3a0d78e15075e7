//! A request described before any I/O: method, encoded path, query, headers, body.
//!
//! Generated clients build one per call; hand-written code can too.

pub(crate) mod patch;
pub(crate) mod path;
pub(crate) mod query;

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use serde::Serialize;

use crate::error::{bounded, Error, Result};
use crate::request::patch::Patch;
use crate::request::path::{check_runtime_template, placeholder_ahead, push_segment};
use crate::request::query::ParamValue;

pub use reqwest::Method;

/// A fully described request, ready for [`Client::send`](crate::Client::send).
///
/// ```
/// use incluster::{Method, Request};
/// let request = Request::builder(Method::GET, "/api/v1/namespaces/{namespace}/configmaps/{name}")
///     .path_param("namespace", "default")
///     .path_param("name", "a/b")
///     .query("resourceVersion", &Some("0"))
///     .build()?;
/// assert_eq!(request.path_and_query(), "/api/v1/namespaces/default/configmaps/a%2Fb?resourceVersion=0");
/// # Ok::<(), incluster::Error>(())
/// ```
pub struct Request {
    pub(crate) method: Method,
    /// The path template: borrowed for a literal (no allocation), owned when built at run time.
    pub(crate) template: Cow<'static, str>,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<Bytes>,
    pub(crate) timeout: Option<Duration>,
    /// The RBAC rules of the generated method that built this request (named in a 403).
    pub(crate) rbac: Option<&'static crate::rbac::MethodRules>,
}

/// Written out rather than derived: a derived `clone` is `#[inline]`, so every codegen unit that
/// clones a request (a list page, a watcher's relist, a server-side apply) got its own copy.
impl Clone for Request {
    fn clone(&self) -> Request {
        Request {
            method: self.method.clone(),
            template: self.template.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            headers: self.headers.clone(),
            body: self.body.clone(),
            timeout: self.timeout,
            rbac: self.rbac,
        }
    }
}

impl Request {
    /// Starts a request for `method` on a path template such as `/api/v1/namespaces/{namespace}/pods`.
    ///
    /// The template is usually a literal (`&'static str`: kept as it is, nothing is copied), but
    /// it may be built at run time (a `String`), for a resource discovered at run time. A template
    /// built at run time is checked when the request is built: it must start with `/` and may hold
    /// only `/`, `{placeholder}`s and the characters a path needs no encoding for (letters, digits,
    /// `-`, `.`, `_`, `~`), with no empty, `.` or `..` segment; put anything else, and every value
    /// that came from the network, into a placeholder, which [`RequestBuilder::path_param`]
    /// encodes as one segment.
    ///
    /// ```
    /// let request = incluster::Request::builder(incluster::Method::GET, "/api").build()?;
    /// assert_eq!(request.to_string(), "GET /api");
    /// # Ok::<(), incluster::Error>(())
    /// ```
    ///
    /// A resource found at run time (say, through the discovery API): the template's shape is
    /// chosen at run time, and the discovered names are bound as placeholders.
    ///
    /// ```
    /// use incluster::{Method, Request};
    ///
    /// /// What `/apis` said about a resource (here, as if discovered).
    /// struct Discovered { group: String, version: String, plural: String }
    ///
    /// fn list_request(found: &Discovered, namespace: &str) -> incluster::Result<Request> {
    ///     let root = if found.group.is_empty() { "/api/{version}" } else { "/apis/{group}/{version}" };
    ///     let template = format!("{root}/namespaces/{{namespace}}/{{plural}}");
    ///     let mut builder = Request::builder(Method::GET, template);
    ///     if !found.group.is_empty() {
    ///         builder = builder.path_param("group", found.group.clone());
    ///     }
    ///     builder
    ///         .path_param("version", &found.version)
    ///         .path_param("namespace", namespace)
    ///         .path_param("plural", &found.plural)
    ///         .build()
    /// }
    ///
    /// let crontabs = Discovered { group: "stable.example.com".into(), version: "v1".into(), plural: "crontabs".into() };
    /// let request = list_request(&crontabs, "default")?;
    /// assert_eq!(request.path_and_query(), "/apis/stable.example.com/v1/namespaces/default/crontabs");
    /// assert_eq!(request.to_string(), "GET /apis/{group}/{version}/namespaces/{namespace}/{plural}");
    ///
    /// // A discovered name is one encoded segment, never more path.
    /// let odd = Discovered { group: String::new(), version: "v1".into(), plural: "pods/../secrets".into() };
    /// assert_eq!(list_request(&odd, "default")?.path_and_query(), "/api/v1/namespaces/default/pods%2F..%2Fsecrets");
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn builder(method: Method, template: impl Into<Cow<'static, str>>) -> RequestBuilder {
        Request::builder_for(method, template.into())
    }

    /// [`Request::builder`] past the conversion: one copy of the body, not one per caller's crate.
    fn builder_for(method: Method, template: Cow<'static, str>) -> RequestBuilder {
        let error = match &template {
            // Literals are the programmer's (and the macro checks the ones it generates).
            Cow::Borrowed(_) => None,
            Cow::Owned(built) => check_runtime_template(built).err().map(|why| {
                let shown = bounded(built);
                Invalid::new(format!(
                    "{method} {shown:?}: the path template built at run time {why}; bind values with `path_param` (nothing was sent)"
                ))
            }),
        };
        RequestBuilder {
            request: Request {
                method,
                // Room for the template and two typical names: the path is written once, here.
                path: String::with_capacity(template.len() + 64),
                template,
                query: Vec::new(),
                headers: HeaderMap::new(),
                body: None,
                timeout: None,
                rbac: None,
            },
            filled: 0,
            pending: Vec::new(),
            error,
        }
    }

    /// The encoded path and query string, as sent.
    ///
    /// ```
    /// let request = incluster::Request::builder(incluster::Method::GET, "/api").query("x", "a b").build()?;
    /// assert_eq!(request.path_and_query(), "/api?x=a+b");
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn path_and_query(&self) -> String {
        self.url("")
    }

    /// `base` (e.g. `https://10.96.0.1:443`) followed by the encoded path and query, written
    /// into one string of the right size.
    pub(crate) fn url(&self, base: &str) -> String {
        let query_len: usize = self.query.iter().map(|(n, v)| n.len() + v.len() + 2).sum();
        let mut url = String::with_capacity(base.len() + self.path.len() + query_len + 8);
        url.push_str(base);
        url.push_str(&self.path);
        if !self.query.is_empty() {
            url.push('?');
            let start = url.len();
            let mut query = url::form_urlencoded::Serializer::for_suffix(url, start);
            for (name, value) in &self.query {
                query.append_pair(name, value);
            }
            url = query.finish();
        }
        url
    }

    /// The request's URL under `base` (the server URL, parsed once per client): what
    /// `Client::execute` can hand reqwest instead of a string, which reqwest would parse again
    /// (≈ 8,000 instructions, 8 % of a small GET). Equal to parsing `self.url(base.as_str())`.
    pub(crate) fn url_in(&self, base: &url::Url) -> url::Url {
        let mut url = base.clone();
        let prefix = base.path().trim_end_matches('/');
        if prefix.is_empty() {
            url.set_path(&self.path);
        } else {
            url.set_path(&format!("{prefix}{}", self.path));
        }
        url.set_query(None);
        if !self.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in &self.query {
                pairs.append_pair(name, value);
            }
        }
        url
    }

    /// The HTTP method.
    ///
    /// ```
    /// let request = incluster::Request::builder(incluster::Method::DELETE, "/api").build()?;
    /// assert_eq!(request.method(), incluster::Method::DELETE);
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn method(&self) -> Method {
        self.method.clone()
    }

    /// The RBAC rules attached with [`RequestBuilder::rbac`].
    ///
    /// ```
    /// let request = incluster::Request::builder(incluster::Method::GET, "/api").build()?;
    /// assert!(request.rbac().is_none());
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn rbac(&self) -> Option<&'static crate::rbac::MethodRules> {
        self.rbac
    }
}

/// Shows the method and the path template, never values or headers: `GET /api/v1/namespaces/{namespace}/pods`.
impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.template)
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_bytes", &self.body.as_ref().map(Bytes::len))
            .finish()
    }
}

/// Builds a [`Request`]; the first invalid argument is reported by [`RequestBuilder::build`],
/// naming the request and the argument, before any I/O.
///
/// ```
/// let err = incluster::Request::builder(incluster::Method::GET, "/api/v1/namespaces/{namespace}")
///     .path_param("namespace", "..")
///     .build()
///     .unwrap_err();
/// assert!(err.to_string().contains("`namespace`"));
/// ```
#[must_use]
pub struct RequestBuilder {
    request: Request,
    /// How much of the template is written into `request.path`; the rest is not yet. Placeholders
    /// bound in template order (as generated clients bind them) are encoded straight into the path.
    filled: usize,
    /// Values bound out of template order, encoded, for `build` to place.
    pending: Vec<(Cow<'static, str>, String)>,
    /// The first invalid argument, made an [`Error::InvalidRequest`] by `build`.
    error: Option<Invalid>,
}

/// What [`Error::InvalidRequest`] will hold. Kept apart from [`Error`] until `build` so that a
/// builder's drop needs no code for every other kind of error.
struct Invalid {
    message: String,
    source: Option<crate::error::BoxError>,
}

impl Invalid {
    fn new(message: String) -> Invalid {
        Invalid {
            message,
            source: None,
        }
    }
}

impl RequestBuilder {
    /// Binds the template's `{name}` placeholder to `value`, encoded as exactly one path segment.
    /// Empty, `.` and `..` are refused. `name` is usually a literal; like the template, it may be
    /// built at run time (a `String`).
    ///
    /// ```
    /// let request = incluster::Request::builder(incluster::Method::GET, "/api/v1/namespaces/{namespace}")
    ///     .path_param("namespace", "ü b")
    ///     .build()?;
    /// assert_eq!(request.path_and_query(), "/api/v1/namespaces/%C3%BC%20b");
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn path_param(
        mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl fmt::Display,
    ) -> Self {
        if self.error.is_some() {
            return self;
        }
        let name = name.into();
        let rest = &self.request.template[self.filled..];
        let result = match placeholder_ahead(rest, &name) {
            // The next placeholder, and the only one of this name left: write it in place.
            Some((literal, after)) => {
                let consumed = rest.len() - after.len();
                let path = &mut self.request.path;
                path.push_str(literal);
                let start = path.len();
                let result = push_segment(path, &value);
                if result.is_ok() {
                    self.filled += consumed;
                } else {
                    path.truncate(start - literal.len());
                }
                result
            }
            None => {
                let mut encoded = String::new();
                let result = push_segment(&mut encoded, &value);
                if result.is_ok() {
                    self.pending.push((name.clone(), encoded));
                }
                result
            }
        };
        if let Err(why) = result {
            let message = format!(
                "{}: path parameter `{name}` {why}; pass a Kubernetes name (nothing was sent)",
                self.request
            );
            self.fail(message);
        }
        self
    }

    /// Adds a query parameter (`Option::None` adds nothing; sequences repeat it).
    ///
    /// ```
    /// let request = incluster::Request::builder(incluster::Method::GET, "/api")
    ///     .query("limit", &Some(10))
    ///     .query("labelSelector", &None::<&str>)
    ///     .build()?;
    /// assert_eq!(request.path_and_query(), "/api?limit=10");
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn query<V: ParamValue + ?Sized>(mut self, name: &str, value: &V) -> Self {
        let pairs = &mut self.request.query;
        value.each_text(&mut |text| pairs.push((name.to_string(), text.to_string())));
        self
    }

    /// Adds every field of a `Serialize` struct as a query parameter (serde's field names).
    ///
    /// ```
    /// #[derive(serde::Serialize)]
    /// #[serde(rename_all = "camelCase")]
    /// struct ListParams { label_selector: Option<String>, limit: u32 }
    /// let request = incluster::Request::builder(incluster::Method::GET, "/api")
    ///     .query_flatten(&ListParams { label_selector: None, limit: 5 })
    ///     .build()?;
    /// assert_eq!(request.path_and_query(), "/api?limit=5");
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn query_flatten(mut self, value: &impl Serialize) -> Self {
        if let Err(why) = query::flatten(value, &mut self.request.query) {
            let message = format!("{}: query parameters: {why}", self.request);
            self.fail(message);
        }
        self
    }

    /// Adds a request header (`Option::None` adds nothing; sequences add it once per element).
    ///
    /// ```
    /// let request = incluster::Request::builder(incluster::Method::GET, "/api")
    ///     .header("Accept", &"application/json")
    ///     .build()?;
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn header<V: ParamValue + ?Sized>(mut self, name: &'static str, value: &V) -> Self {
        let mut invalid = false;
        let headers = &mut self.request.headers;
        // `HeaderValue::from_str` lets bytes >= 0x80 through (obs-text), so UTF-8 would go out raw:
        // only visible ASCII and tabs are sent.
        value.each_text(&mut |text| match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(text).ok().filter(|_| text.is_ascii()),
        ) {
            (Ok(name), Some(value)) => {
                headers.append(name, value);
            }
            _ => invalid = true,
        });
        if invalid {
            let message = format!(
                "{}: header `{name}` has a value that is not valid in an HTTP header (control characters or non-ASCII)",
                self.request
            );
            self.fail(message);
        }
        self
    }

    /// Sets a JSON body (`Content-Type: application/json`).
    ///
    /// ```
    /// let request = incluster::Request::builder(incluster::Method::POST, "/api/v1/namespaces")
    ///     .json_body(&serde_json::json!({"metadata": {"name": "x"}}))
    ///     .build()?;
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn json_body(self, body: &impl Serialize) -> Self {
        self.json_body_as(body, "application/json")
    }

    /// Sets a PATCH body; the strategy picks the `Content-Type`.
    ///
    /// ```
    /// let request = incluster::Request::builder(incluster::Method::PATCH, "/api/v1/namespaces/{namespace}")
    ///     .path_param("namespace", "x")
    ///     .patch_body(&incluster::Patch::Merge(serde_json::json!({"metadata": {"labels": {"a": "b"}}})))
    ///     .build()?;
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn patch_body<T: Serialize>(self, patch: &Patch<T>) -> Self {
        self.json_body_as(patch.value(), patch.content_type())
    }

    /// Sets a body serialized as JSON, sent with the given `Content-Type` (a JSON-compatible
    /// one, such as `application/merge-patch+json`).
    ///
    /// ```
    /// let request = incluster::Request::builder(incluster::Method::PATCH, "/api")
    ///     .json_body_as(&serde_json::json!({}), "application/merge-patch+json")
    ///     .build()?;
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn json_body_as(mut self, body: &impl Serialize, content_type: &'static str) -> Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => {
                self.request.body = Some(Bytes::from(bytes));
                self.request
                    .headers
                    .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            }
            Err(err) => {
                if self.error.is_none() {
                    self.error = Some(Invalid {
                        message: format!("{}: the body does not serialize to JSON", self.request),
                        source: Some(Box::new(err)),
                    });
                }
            }
        }
        self
    }

    /// A timeout for this request alone.
    ///
    /// ```
    /// let request = incluster::Request::builder(incluster::Method::GET, "/api")
    ///     .timeout(std::time::Duration::from_secs(5))
    ///     .build()?;
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.request.timeout = Some(timeout);
        self
    }

    /// Attaches the RBAC rules this request needs (generated methods attach their own): a 403
    /// answer then names them ([`Error::rbac_needed`]).
    ///
    /// ```
    /// use incluster::rbac::{MethodRules, Rule, Scope};
    /// static LIST: MethodRules = MethodRules {
    ///     client: "Mine",
    ///     method: "list",
    ///     route: "GET /api/v1/namespaces/{namespace}/pods",
    ///     rules: &[Rule::resource("", "pods", &["list"], Scope::ClientNamespace)],
    /// };
    /// let request = incluster::Request::builder(incluster::Method::GET, "/api/v1/namespaces/{namespace}/pods")
    ///     .path_param("namespace", "demo")
    ///     .rbac(&LIST)
    ///     .build()?;
    /// assert_eq!(request.rbac(), Some(&LIST));
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn rbac(mut self, needs: &'static crate::rbac::MethodRules) -> Self {
        self.request.rbac = Some(needs);
        self
    }

    /// Fills the path template and returns the request, or the first invalid argument.
    ///
    /// ```
    /// let err = incluster::Request::builder(incluster::Method::GET, "/api/{missing}").build().unwrap_err();
    /// assert!(err.to_string().contains("{missing}"));
    /// ```
    pub fn build(self) -> Result<Request> {
        if let Some(Invalid { message, source }) = self.error {
            return Err(Error::InvalidRequest { message, source });
        }
        let mut request = self.request;
        let rest = &request.template[self.filled..];
        if let Err(placeholder) = fill_template(&mut request.path, rest, &self.pending) {
            let message = format!("{request}: no value for {{{placeholder}}}");
            return Err(Error::invalid(message));
        }
        Ok(request)
    }

    fn fail(&mut self, message: String) {
        if self.error.is_none() {
            self.error = Some(Invalid::new(message));
        }
    }
}

/// Appends `template` to `path`, each `{name}` replaced by its value in `params`.
fn fill_template<'t>(
    path: &mut String,
    template: &'t str,
    params: &[(Cow<'static, str>, String)],
) -> std::result::Result<(), &'t str> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let name = &rest[open + 1..open + close];
        let value = params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .ok_or(name)?;
        path.push_str(&rest[..open]);
        path.push_str(value);
        rest = &rest[open + close + 1..];
    }
    path.push_str(rest);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_in_any_order_and_repeated() {
        let request = Request::builder(Method::GET, "/a/{x}/b/{y}/c")
            .path_param("y", "2")
            .path_param("x", "1/1")
            .build()
            .unwrap();
        assert_eq!(request.path_and_query(), "/a/1%2F1/b/2/c");
        let request = Request::builder(Method::GET, "/{x}/{x}")
            .path_param("x", 7)
            .build()
            .unwrap();
        assert_eq!(request.path_and_query(), "/7/7");
        let request = Request::builder(Method::GET, "/{x}/{y}")
            .path_param("x", "a")
            .path_param("y", "b")
            .query("q", &["1", "2"][..])
            .query("s", "a b&c")
            .build()
            .unwrap();
        assert_eq!(
            request.url("https://h:1"),
            "https://h:1/a/b?q=1&q=2&s=a+b%26c"
        );
    }

    #[test]
    fn a_template_built_at_run_time_fills_like_a_literal() {
        let plural = String::from("crontabs");
        let literal = Request::builder(
            Method::GET,
            "/apis/{group}/v1/namespaces/{namespace}/{plural}",
        )
        .path_param("namespace", "default")
        .path_param("group", "stable.example.com")
        .path_param("plural", &plural)
        .build()
        .unwrap();
        assert!(matches!(literal.template, Cow::Borrowed(_)));
        let built = format!(
            "/apis/{{group}}/{}/namespaces/{{namespace}}/{{plural}}",
            "v1"
        );
        // Placeholder names built at run time too, bound in and out of template order.
        let owned = Request::builder(Method::GET, built)
            .path_param(String::from("namespace"), "default")
            .path_param(String::from("group"), "stable.example.com")
            .path_param("plural".to_string(), &plural)
            .build()
            .unwrap();
        assert!(matches!(owned.template, Cow::Owned(_)));
        assert_eq!(owned.path_and_query(), literal.path_and_query());
        assert_eq!(owned.to_string(), literal.to_string());
        assert_eq!(
            owned.path_and_query(),
            "/apis/stable.example.com/v1/namespaces/default/crontabs"
        );
        let clone = owned.clone();
        assert_eq!(clone.to_string(), owned.to_string());
    }

    #[test]
    fn a_template_built_at_run_time_is_checked_before_any_io() {
        let discovered = "pods?watch=true";
        let err = Request::builder(Method::GET, format!("/api/v1/{discovered}"))
            .path_param("name", "x")
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("built at run time"), "{message}");
        assert!(message.contains("\"/api/v1/pods?watch=true\""), "{message}");
        assert!(message.contains("path_param"), "{message}");
        let err = Request::builder(Method::DELETE, String::from("/api/v1/../secrets"))
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("`..`"), "{err}");
        let long = format!("/{}?", "a".repeat(4096));
        let err = Request::builder(Method::GET, long).build().unwrap_err();
        assert!(err.to_string().contains("more bytes"), "{err}");
        assert!(err.to_string().len() < 2048, "{err}");
    }

    #[test]
    fn a_missing_placeholder_is_named_for_either_kind_of_template() {
        let literal = "/a/{x}/{y}";
        for (template, bound, missing) in [
            (Cow::Owned(literal.to_string()), "x", "y"),
            (Cow::Borrowed(literal), "y", "x"),
        ] {
            let err = Request::builder(Method::GET, template)
                .path_param(bound, "1")
                .build()
                .unwrap_err();
            let expected = format!("GET /a/{{x}}/{{y}}: no value for {{{missing}}}");
            assert!(err.to_string().contains(&expected), "{err}");
        }
    }

    #[test]
    fn a_parsed_base_gives_the_same_url() {
        let requests = [
            Request::builder(
                Method::GET,
                "/api/v1/namespaces/{namespace}/configmaps/{name}",
            )
            .path_param("namespace", "default")
            .path_param("name", "a b/ü%~.")
            .build()
            .unwrap(),
            Request::builder(Method::GET, "/api")
                .query("labelSelector", "app in (a,b)")
                .query("x", &["1", "&"][..])
                .build()
                .unwrap(),
        ];
        for base in [
            "https://10.96.0.1:443",
            "http://127.0.0.1:8001/prefix",
            "https://[::1]:6443",
        ] {
            let parsed = url::Url::parse(base).unwrap();
            for request in &requests {
                let expected = url::Url::parse(&request.url(base)).unwrap();
                assert_eq!(request.url_in(&parsed), expected);
            }
        }
    }

    #[test]
    fn a_refused_value_leaves_nothing_behind() {
        let err = Request::builder(Method::GET, "/ns/{namespace}/x/{name}")
            .path_param("namespace", "default")
            .path_param("name", "..")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("`name` is `..`"), "{err}");
        let err = Request::builder(Method::GET, "/ns/{namespace}")
            .path_param("namespace", "")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("`namespace` is empty"), "{err}");
        let err = Request::builder(Method::GET, "/ns/{namespace}")
            .path_param("namespace", "a".repeat(8 * 1024 + 1))
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("8 KiB"), "{err}");
    }

    #[test]
    fn headers_skip_none_and_refuse_control_characters() {
        let request = Request::builder(Method::GET, "/")
            .header("x-a", &Some(5u32))
            .header("x-b", &None::<&str>)
            .header("x-c", &vec!["1", "2"])
            .build()
            .unwrap();
        assert_eq!(request.headers["x-a"], "5");
        assert!(request.headers.get("x-b").is_none());
        assert_eq!(request.headers.get_all("x-c").iter().count(), 2);
        let err = Request::builder(Method::GET, "/")
            .header("x-a", "café")
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
        assert!(err.to_string().contains("non-ASCII"), "{err}");
        let err = Request::builder(Method::GET, "/")
            .header("x-a", "a\nb")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("header `x-a`"), "{err}");
    }
}
