//! `/api/docs/`: the document as one readable page, with no script and no CDN.

use std::fmt::Write as _;

use utoipa::openapi::{OpenApi as Document, RefOr};

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn schema_name<T>(item: &RefOr<T>) -> String {
    match item {
        RefOr::Ref(r) => r
            .ref_location
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned(),
        RefOr::T(_) => "inline".to_owned(),
    }
}

/// The document as one static page: each route with its method, summary, body,
/// answers and auth, then every schema.
pub(super) fn render(doc: &Document) -> String {
    let mut out = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Hearth API</title><style>\
         body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#222}\
         h2{border-bottom:1px solid #ddd;margin-top:2rem}.op{border:1px solid #e3e3e3;border-radius:6px;padding:.6rem 1rem;margin:.8rem 0}\
         .m{display:inline-block;min-width:4.5rem;font-weight:700;font-family:monospace}.GET{color:#0a7}.POST{color:#06c}\
         .PUT,.PATCH{color:#a60}.DELETE{color:#c22}code,pre{background:#f5f5f5;border-radius:4px;padding:.1rem .3rem}\
         pre{padding:.6rem;overflow:auto}td{padding:.1rem .8rem .1rem 0;vertical-align:top}</style></head><body>",
    );
    let _ = write!(
        out,
        "<h1>{} <small>{}</small></h1><p>{}</p><p>Machine-readable: <a href=\"/api/schema/\">/api/schema/</a> (OpenAPI 3.1).</p>",
        escape(&doc.info.title),
        escape(&doc.info.version),
        escape(doc.info.description.as_deref().unwrap_or_default()),
    );
    out.push_str("<h2>Routes</h2>");
    for (path, item) in &doc.paths.paths {
        let ops = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ];
        for (method, op) in ops {
            let Some(op) = op else { continue };
            let _ = write!(
                out,
                "<div class=\"op\"><span class=\"m {method}\">{method}</span> <code>{}</code>",
                escape(path)
            );
            if let Some(summary) = op.summary.as_deref().or(op.description.as_deref()) {
                let _ = write!(out, " — {}", escape(summary));
            }
            out.push_str("<table>");
            if let Some(body) = &op.request_body {
                let kinds: Vec<String> = body
                    .content
                    .iter()
                    .map(|(kind, c)| {
                        format!(
                            "{kind}: {}",
                            c.schema.as_ref().map(schema_name).unwrap_or_default()
                        )
                    })
                    .collect();
                let _ = write!(
                    out,
                    "<tr><td>body</td><td>{} {}</td></tr>",
                    escape(&kinds.join(", ")),
                    escape(body.description.as_deref().unwrap_or_default())
                );
            }
            for (status, response) in &op.responses.responses {
                let text = match response {
                    RefOr::T(r) => {
                        let schema = r
                            .content
                            .values()
                            .find_map(|c| c.schema.as_ref())
                            .map(schema_name);
                        format!(
                            "{}{}",
                            r.description,
                            schema.map(|s| format!(" ({s})")).unwrap_or_default()
                        )
                    }
                    RefOr::Ref(r) => r.ref_location.clone(),
                };
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{}</td></tr>",
                    escape(status),
                    escape(&text)
                );
            }
            if let Some(security) = &op.security {
                let names = serde_json::to_value(security)
                    .unwrap_or_default()
                    .to_string();
                let _ = write!(out, "<tr><td>auth</td><td>{}</td></tr>", escape(&names));
            }
            out.push_str("</table></div>");
        }
    }
    out.push_str("<h2>Schemas</h2>");
    if let Some(components) = &doc.components {
        for (name, schema) in &components.schemas {
            let json = serde_json::to_string_pretty(schema).unwrap_or_default();
            let _ = write!(
                out,
                "<h3 id=\"{0}\">{0}</h3><pre>{1}</pre>",
                escape(name),
                escape(&json)
            );
        }
    }
    out.push_str("</body></html>");
    out
}
