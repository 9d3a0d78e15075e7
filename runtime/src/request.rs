//! A request described before any I/O: method, encoded path, query, headers, body.
//!
//! Generated clients build one per call; hand-written code can too.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::patch::Patch;
use crate::path::encode_segment;
use crate::query::{self, QueryValue};

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
#[derive(Clone)]
pub struct Request {
    pub(crate) method: Method,
    pub(crate) template: &'static str,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<Bytes>,
    pub(crate) timeout: Option<Duration>,
}

impl Request {
    /// Starts a request for `method` on a path template such as `/api/v1/namespaces/{namespace}/pods`.
    ///
    /// ```
    /// let request = incluster::Request::builder(incluster::Method::GET, "/api").build()?;
    /// assert_eq!(request.to_string(), "GET /api");
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn builder(method: Method, template: &'static str) -> RequestBuilder {
        RequestBuilder {
            request: Request {
                method,
                template,
                path: String::new(),
                query: Vec::new(),
                headers: HeaderMap::new(),
                body: None,
                timeout: None,
            },
            params: Vec::new(),
            error: None,
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
        if self.query.is_empty() {
            return self.path.clone();
        }
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.query {
            query.append_pair(name, value);
        }
        format!("{}?{}", self.path, query.finish())
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
    params: Vec<(&'static str, String)>,
    error: Option<Error>,
}

impl RequestBuilder {
    /// Binds the template's `{name}` placeholder to `value`, encoded as exactly one path segment.
    /// Empty, `.` and `..` are refused.
    ///
    /// ```
    /// let request = incluster::Request::builder(incluster::Method::GET, "/api/v1/namespaces/{namespace}")
    ///     .path_param("namespace", "ü b")
    ///     .build()?;
    /// assert_eq!(request.path_and_query(), "/api/v1/namespaces/%C3%BC%20b");
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn path_param(mut self, name: &'static str, value: impl fmt::Display) -> Self {
        let value = value.to_string();
        match encode_segment(&value) {
            Ok(encoded) => self.params.push((name, encoded)),
            Err(why) => {
                let message = format!(
                    "{} {}: path parameter `{name}` {why}; pass a Kubernetes name (nothing was sent)",
                    self.request.method, self.request.template
                );
                self.fail(message);
            }
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
    pub fn query<V: QueryValue + ?Sized>(mut self, name: &str, value: &V) -> Self {
        value.append_to(name, &mut self.request.query);
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
            let message = format!(
                "{} {}: query parameters: {why}",
                self.request.method, self.request.template
            );
            self.fail(message);
        }
        self
    }

    /// Adds a request header (`Option::None` adds nothing).
    ///
    /// ```
    /// let request = incluster::Request::builder(incluster::Method::GET, "/api")
    ///     .header("Accept", &"application/json")
    ///     .build()?;
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn header<V: HeaderArg + ?Sized>(mut self, name: &'static str, value: &V) -> Self {
        let Some(value) = value.header_text() else {
            return self;
        };
        let parsed = HeaderName::from_bytes(name.as_bytes())
            .ok()
            .zip(HeaderValue::from_str(&value).ok());
        match parsed {
            Some((name, value)) => {
                self.request.headers.append(name, value);
            }
            None => {
                let message = format!(
                    "{} {}: header `{name}` has a value that is not valid in an HTTP header (control characters or non-ASCII)",
                    self.request.method, self.request.template
                );
                self.fail(message);
            }
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
        self.body_as(body, "application/json")
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
        self.body_as(patch.value(), patch.content_type())
    }

    /// Sets a body serialized as JSON, sent with the given `Content-Type`.
    ///
    /// ```
    /// let request = incluster::Request::builder(incluster::Method::PATCH, "/api")
    ///     .body_as(&serde_json::json!({}), "application/merge-patch+json")
    ///     .build()?;
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn body_as(mut self, body: &impl Serialize, content_type: &'static str) -> Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => {
                self.request.body = Some(Bytes::from(bytes));
                self.request
                    .headers
                    .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            }
            Err(err) => {
                let message = format!(
                    "{} {}: the body does not serialize to JSON: {err}",
                    self.request.method, self.request.template
                );
                self.fail(message);
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

    /// Fills the path template and returns the request, or the first invalid argument.
    ///
    /// ```
    /// let err = incluster::Request::builder(incluster::Method::GET, "/api/{missing}").build().unwrap_err();
    /// assert!(err.to_string().contains("{missing}"));
    /// ```
    pub fn build(self) -> Result<Request> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let mut request = self.request;
        request.path = fill_template(request.template, &self.params).map_err(|placeholder| {
            Error::invalid(format!(
                "{} {}: no value for {{{placeholder}}}",
                request.method, request.template
            ))
        })?;
        Ok(request)
    }

    fn fail(&mut self, message: String) {
        if self.error.is_none() {
            self.error = Some(Error::invalid(message));
        }
    }
}

fn fill_template<'t>(
    template: &'t str,
    params: &[(&str, String)],
) -> std::result::Result<String, &'t str> {
    let mut path = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let name = &rest[open + 1..open + close];
        let value = params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
            .ok_or(name)?;
        path.push_str(&rest[..open]);
        path.push_str(value);
        rest = &rest[open + close + 1..];
    }
    path.push_str(rest);
    Ok(path)
}

/// A value that can be sent as a header (`Option::None` sends none).
///
/// ```
/// use incluster::HeaderArg;
/// assert_eq!(Some("x").header_text(), Some("x".to_string()));
/// assert_eq!(None::<String>.header_text(), None);
/// ```
pub trait HeaderArg {
    /// The header's text, or `None` to leave the header out.
    fn header_text(&self) -> Option<String>;
}

macro_rules! display_header_arg {
    ($($ty:ty),*) => {$(
        impl HeaderArg for $ty {
            fn header_text(&self) -> Option<String> {
                Some(self.to_string())
            }
        }
    )*};
}

display_header_arg!(str, String, bool, u16, u32, u64, i32, i64, usize);

impl<T: HeaderArg + ?Sized> HeaderArg for &T {
    fn header_text(&self) -> Option<String> {
        (**self).header_text()
    }
}

impl<T: HeaderArg> HeaderArg for Option<T> {
    fn header_text(&self) -> Option<String> {
        self.as_ref().and_then(HeaderArg::header_text)
    }
}
