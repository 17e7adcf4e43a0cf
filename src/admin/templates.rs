//! The admin's built-in templates: plain HTML with its CSS inline (no external asset: the
//! machine may be offline), a skip link, visible focus, real links, a table that scrolls
//! sideways on a phone. Each is registered under a file's name (`admin/list`), so a site
//! replaces one by writing `templates/admin/list.hbs`. Escaped as every template is.

use crate::render::Renderer;
use crate::routing::Router;

pub const INDEX: &str = "admin/index";
pub const LIST: &str = "admin/list";
pub const CHANGE: &str = "admin/change";
pub const HISTORY: &str = "admin/history";

const HEAD: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<style>
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2330;background:#f6f7f9}
a{color:#1a56a8}
a:focus,button:focus,input:focus{outline:3px solid #f5a623;outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem;z-index:1}
header{background:#243447;color:#fff;padding:.75rem 1rem}header a{color:#fff}
nav.crumbs{padding:.5rem 1rem;background:#e8ebf0;font-size:.9rem}
main{padding:1rem;max-width:72rem}
h1{font-size:1.4rem;margin:.25rem 0 1rem}
.note{background:#fff7e0;border:1px solid #e6c46a;padding:.5rem .75rem;border-radius:4px}
.wrap{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start}
.rows{flex:1 1 30rem;min-width:0}
.scroll{overflow-x:auto;background:#fff;border:1px solid #d5dae1;border-radius:4px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #e3e6eb;vertical-align:top}
th{background:#f0f2f5;white-space:nowrap}
aside{flex:0 1 14rem;background:#fff;border:1px solid #d5dae1;border-radius:4px;padding:.5rem .75rem}
aside h2,aside h3{font-size:1rem;margin:.5rem 0 .25rem}aside ul{list-style:none;margin:0;padding:0}
aside li{padding:.1rem 0}[aria-current]{font-weight:700;color:#1d2330;text-decoration:none}
form.search{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem;margin-bottom:1rem}
input[type=search]{flex:1 1 10rem;min-width:0;max-width:24rem;padding:.4rem;font:inherit}
button{font:inherit;padding:.4rem .9rem}
.pages{margin:1rem 0;display:flex;gap:1rem;flex-wrap:wrap}
dl{display:grid;grid-template-columns:minmax(8rem,max-content) 1fr;gap:.4rem 1rem;background:#fff;padding:1rem;border:1px solid #d5dae1;border-radius:4px}
dt{font-weight:600}dd{margin:0;white-space:pre-wrap;overflow-wrap:anywhere}
@media (max-width:40rem){dl{grid-template-columns:1fr}dd{margin-bottom:.5rem}}
</style>
"#;

const TOP: &str = r##"</head>
<body>
<a class="skip" href="#content">Skip to content</a>
<header><a href="{{url admin.index_route}}">{{site.name}} administration</a></header>
"##;

const FOOT: &str = "</main>\n</body>\n</html>\n";

/// A model's value in a cell: a boolean as Yes/No, a foreign key by its target's label.
const VALUE: &str = r#"{{#if col.boolean}}{{#if (lookup row col.name)}}Yes{{else}}No{{/if}}{{else}}{{#if col.fk}}{{#with (lookup row col.name)}}{{lookup this ../col.fk_label}}{{/with}}{{else}}{{lookup row col.name}}{{/if}}{{/if}}"#;

const INDEX_BODY: &str = r##"<title>Administration · {{site.name}}</title>
TOP<main id="content">
<h1>Site administration</h1>
<div class="scroll"><table>
<thead><tr><th scope="col">Model</th><th scope="col">Rows</th></tr></thead>
<tbody>
{{#each admin.models}}<tr><th scope="row"><a href="{{url list_route}}">{{label}}</a>{{#if read_only}} <small>(from files, read-only)</small>{{/if}}</th><td>{{count}}</td></tr>
{{/each}}</tbody>
</table></div>
RECENT"##;

/// The index's "Recent actions" (the history log's last entries), a block of its own.
const RECENT: &str = r##"<section class="recent" aria-labelledby="recent"><h2 id="recent">Recent actions</h2>
{{#if admin.recent}}<ul>
{{#each admin.recent}}<li><span class="action">{{action}}</span> {{#if href}}<a href="{{href}}">{{object_repr}}</a>{{else}}{{object_repr}}{{/if}} <small>({{model}}{{#if username}}, by {{username}}{{/if}}, <time datetime="{{action_time}}">{{action_time}}</time>)</small></li>
{{/each}}</ul>{{else}}<p>None available.</p>{{/if}}</section>
"##;

const LIST_BODY: &str = r##"<title>{{admin.label}} · Administration · {{site.name}}</title>
TOP<nav class="crumbs" aria-label="Breadcrumb"><a href="{{url admin.index_route}}">Home</a> › {{admin.label}}</nav>
<main id="content">
<h1>{{admin.label}}</h1>
{{#if admin.read_only}}<p class="note">These rows come from files: they are shown here read-only; edit the files to change them.</p>{{/if}}
{{#if admin.search}}<form class="search" role="search" method="get"><label for="q">Search</label> <input type="search" id="q" name="q" value="{{search}}">{{#each facets}}{{#if chosen}}<input type="hidden" name="{{param}}" value="{{lookup @root.request.query param}}">{{/if}}{{/each}}{{#if ordering.current}}<input type="hidden" name="ordering" value="{{ordering.current}}">{{/if}} <button type="submit">Search</button></form>{{/if}}
<div class="wrap">
<div class="rows">
<p>{{page.count}} row{{pluralize page.count}}{{#if search}} matching “{{search}}”{{/if}}</p>
<div class="scroll"><table>
<thead><tr>{{#each admin.columns as |col|}}<th scope="col">{{#with (lookup @root.ordering.fields col.name)}}<a href="{{toggle_url}}">{{col.label}}</a>{{#if dir}} <small>({{dir}})</small>{{/if}}{{/with}}</th>{{/each}}</tr></thead>
<tbody>
{{#each objects as |row|}}<tr>{{#each @root.admin.columns as |col|}}{{#if @first}}<th scope="row"><a href="{{url @root.admin.change_route pk=row.pk}}">VALUE</a></th>{{else}}<td>VALUE</td>{{/if}}{{/each}}</tr>
{{else}}<tr><td colspan="99">No rows.</td></tr>
{{/each}}</tbody>
</table></div>
{{#if is_paginated}}<nav class="pages" aria-label="Pages">{{#if page.has_previous}}<a href="{{page.previous_url}}" rel="prev">Previous</a>{{/if}}<span>Page {{page.number}} of {{page.num_pages}}</span>{{#if page.has_next}}<a href="{{page.next_url}}" rel="next">Next</a>{{/if}}</nav>{{/if}}
</div>
{{#if facets}}<aside aria-label="Filter"><h2>Filter</h2>
{{#each facets}}<h3>By {{field}}</h3><ul>
<li>{{#if chosen}}<a href="{{all_url}}">All</a>{{else}}<span aria-current="true">All</span>{{/if}}</li>
{{#each values}}<li>{{#if toggle_url}}<a href="{{toggle_url}}"{{#if selected}} aria-current="true"{{/if}}>{{#if (lookup @root.admin.booleans ../field)}}{{#if value}}Yes{{else}}No{{/if}}{{else}}{{label}}{{/if}}</a>{{else}}(none){{/if}} ({{count}})</li>
{{/each}}</ul>
{{/each}}</aside>{{/if}}
</div>
"##;

const CHANGE_BODY: &str = r##"<title>{{admin.label}} {{object.pk}} · Administration · {{site.name}}</title>
TOP<nav class="crumbs" aria-label="Breadcrumb"><a href="{{url admin.index_route}}">Home</a> › <a href="{{url admin.list_route}}">{{admin.label}}</a> › {{object.pk}}</nav>
<main id="content">
<h1>{{admin.label}} {{object.pk}}</h1>
{{#if admin.read_only}}<p class="note">This row comes from a file: it is shown here read-only.</p>{{/if}}
<dl>
{{#each admin.fields as |col|}}{{#with @root.object as |row|}}<dt>{{col.label}}</dt><dd>VALUE</dd>{{/with}}
{{/each}}</dl>
<p><a href="{{url admin.history_route pk=object.pk}}">History</a></p>
"##;

const HISTORY_BODY: &str = r##"<title>History: {{admin.object_repr}} · Administration · {{site.name}}</title>
TOP<nav class="crumbs" aria-label="Breadcrumb"><a href="{{url admin.index_route}}">Home</a> › <a href="{{url admin.list_route}}">{{admin.label}}</a> › {{#if admin.exists}}<a href="{{url admin.change_route pk=admin.object_id}}">{{admin.object_repr}}</a>{{else}}{{admin.object_repr}}{{/if}} › History</nav>
<main id="content">
<h1>Change history: {{admin.object_repr}}</h1>
<div class="scroll"><table class="history">
<thead><tr><th scope="col">Date/time</th><th scope="col">User</th><th scope="col">Action</th></tr></thead>
<tbody>
{{#each entries}}<tr><th scope="row"><time datetime="{{action_time}}">{{action_time}}</time></th><td>{{#if username}}{{username}}{{else}}(anonymous){{/if}}</td><td>{{change_message}}</td></tr>
{{else}}<tr><td colspan="3">This object doesn’t have a change history.</td></tr>
{{/each}}</tbody>
</table></div>
"##;

/// Each built-in template's name and text.
pub fn all() -> [(&'static str, String); 4] {
    let page = |body: &str| {
        let body = body
            .replace("TOP", TOP)
            .replace("VALUE", VALUE)
            .replace("RECENT", RECENT);
        [HEAD, &body, FOOT].concat()
    };
    [
        (INDEX, page(INDEX_BODY)),
        (LIST, page(LIST_BODY)),
        (CHANGE, page(CHANGE_BODY)),
        (HISTORY, page(HISTORY_BODY)),
    ]
}

/// Register the built-in templates the site does not replace with its own files.
pub fn register(renderer: &mut Renderer, router: &Router) -> Result<(), String> {
    for (name, text) in all() {
        renderer
            .add_builtin(name, &text, router)
            .map_err(|(why, at)| match at {
                Some((line, col)) => format!("the built-in {name}, {line}:{col}: {why}"),
                None => format!("the built-in {name}: {why}"),
            })?;
    }
    Ok(())
}
