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
pub const FORM: &str = "admin/form";
pub const DELETE: &str = "admin/delete";
pub const LOGIN: &str = "admin/login";

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
a:focus,button:focus,input:focus,select:focus,textarea:focus{outline:3px solid #f5a623;outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem;z-index:1}
header{background:#243447;color:#fff;padding:.75rem 1rem;display:flex;flex-wrap:wrap;gap:.5rem 1rem;justify-content:space-between;align-items:center}header a{color:#fff}
header form{margin:0;display:flex;gap:.5rem;align-items:center}
.messages{list-style:none;margin:1rem 1rem 0;padding:0}.messages li{background:#e6f4ea;border:1px solid #8cc59b;padding:.5rem .75rem;border-radius:4px;max-width:70rem}
form.edit{background:#fff;padding:1rem;border:1px solid #d5dae1;border-radius:4px;max-width:48rem}
.field{margin:0 0 1rem}.field>label{display:block;font-weight:600;margin-bottom:.2rem}
input,textarea,select{font:inherit;padding:.4rem;max-width:100%}
.field input:not([type=checkbox]):not(.raw-id),.field textarea,.field select{width:100%}.lookup{display:flex;flex-wrap:wrap;gap:.25rem .75rem;align-items:center}input.raw-id{width:12rem}.help{display:block;color:#555}textarea{min-height:8rem}
.error{color:#a3121a;font-weight:600;margin:.2rem 0}.invalid input,.invalid textarea,.invalid select{border:2px solid #a3121a}
.errors{border:2px solid #a3121a;background:#fff;padding:.5rem .75rem;border-radius:4px;margin-bottom:1rem}
.submit{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}.delete,.danger{color:#a3121a}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#fff;padding:.5rem;border:1px solid #d5dae1}
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
<header><a href="{{url admin.index_route}}">{{site.name}} administration</a>{{#if user.is_authenticated}}<form method="post" action="{{url admin.logout_route}}">{{csrf_input}}<span>Signed in as <strong>{{user.username}}</strong></span> <button type="submit">Sign out</button></form>{{/if}}</header>
{{#if messages}}<ul class="messages" role="status">{{#each messages}}<li class="{{level}}">{{text}}</li>{{/each}}</ul>{{/if}}
"##;

/// After a link to one of a model's pages: the list's query it came from, kept (Django's
/// `add_preserved_filters`; `admin::filters`).
const PRESERVED: &str = "{{#if @root.preserved_filters}}?{{@root.preserved_filters}}{{/if}}";

/// After a link back to a model's list: the query it had.
const LISTQUERY: &str = "{{#if @root.changelist_query}}?{{@root.changelist_query}}{{/if}}";

const FOOT: &str = "</main>\n</body>\n</html>\n";

/// A model's value in a cell: a boolean as Yes/No, a foreign key by its target's label.
const VALUE: &str = r#"{{#if col.boolean}}{{#if (lookup row col.name)}}Yes{{else}}No{{/if}}{{else}}{{#if col.fk}}{{#with (lookup row col.name)}}{{lookup this ../col.fk_label}}{{/with}}{{else}}{{lookup row col.name}}{{/if}}{{/if}}"#;

const INDEX_BODY: &str = r##"<title>Administration · {{site.name}}</title>
TOP<main id="content">
<h1>Site administration</h1>
<div class="scroll"><table>
<thead><tr><th scope="col">Model</th><th scope="col">Rows</th><th scope="col"><span class="skip">Actions</span></th></tr></thead>
<tbody>
{{#each admin.models}}<tr><th scope="row"><a href="{{url list_route}}">{{label}}</a>{{#if read_only}} <small>(from files, read-only)</small>{{/if}}</th><td>{{count}}</td><td>{{#if add_route}}<a href="{{url add_route}}">Add<span class="skip"> {{label}}</span></a>{{/if}}</td></tr>
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
{{#if admin.add_route}}<p><a class="add" href="{{url admin.add_route}}PRESERVED">Add {{admin.label}}</a></p>{{/if}}
{{#if admin.read_only}}<p class="note">These rows come from files: they are shown here read-only; edit the files to change them.</p>{{/if}}
{{#if admin.search}}<form class="search" role="search" method="get"><label for="q">Search</label> <input type="search" id="q" name="q" value="{{search}}">{{#each facets}}{{#if chosen}}<input type="hidden" name="{{param}}" value="{{lookup @root.request.query param}}">{{/if}}{{/each}}{{#if ordering.current}}<input type="hidden" name="ordering" value="{{ordering.current}}">{{/if}}{{#if facet_counts.shown}}<input type="hidden" name="_facets" value="1">{{/if}} <button type="submit">Search</button></form>{{/if}}
<div class="wrap">
<div class="rows">
<p>{{page.count}} row{{pluralize page.count}}{{#if search}} matching “{{search}}”{{/if}}</p>
<div class="scroll"><table>
<thead><tr>{{#each admin.columns as |col|}}<th scope="col">{{#with (lookup @root.ordering.fields col.name)}}<a href="{{toggle_url}}">{{col.label}}</a>{{#if dir}} <small>({{dir}})</small>{{/if}}{{/with}}</th>{{/each}}</tr></thead>
<tbody>
{{#each rows}}<tr><th scope="row"><a href="{{url @root.admin.change_route pk=pk}}PRESERVED">{{first}}</a></th>{{#each rest}}<td>{{this}}</td>{{/each}}</tr>
{{else}}<tr><td colspan="99">No rows.</td></tr>
{{/each}}</tbody>
</table></div>
{{#if is_paginated}}<nav class="pages" aria-label="Pages">{{#if page.has_previous}}<a href="{{page.previous_url}}" rel="prev">Previous</a>{{/if}}<span>Page {{page.number}} of {{page.num_pages}}</span>{{#if page.has_next}}<a href="{{page.next_url}}" rel="next">Next</a>{{/if}}</nav>{{/if}}
</div>
{{#if facets}}<aside aria-label="Filter"><h2>Filter</h2>
<p class="counts"><a href="{{facet_counts.toggle_url}}">{{#if facet_counts.shown}}Hide counts{{else}}Show counts{{/if}}</a></p>
{{#each facets}}<h3>By {{lookup @root.admin.facet_titles field}}</h3><ul>
<li>{{#if chosen}}<a href="{{all_url}}">All</a>{{else}}<span aria-current="true">All</span>{{/if}}</li>
{{#each values}}<li>{{#if toggle_url}}<a href="{{toggle_url}}"{{#if selected}} aria-current="true"{{/if}}>{{#if (lookup @root.admin.booleans ../field)}}{{#if value}}Yes{{else}}No{{/if}}{{else}}{{label}}{{/if}}</a>{{else}}(none){{/if}}{{#if @root.facet_counts.shown}} ({{count}}){{/if}}</li>
{{/each}}{{#if more}}<li>…</li>{{/if}}</ul>
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
TOP<nav class="crumbs" aria-label="Breadcrumb"><a href="{{url admin.index_route}}">Home</a> › <a href="{{url admin.list_route}}LISTQUERY">{{admin.label}}</a> › {{#if admin.exists}}<a href="{{url admin.change_route pk=admin.object_id}}PRESERVED">{{admin.object_repr}}</a>{{else}}{{admin.object_repr}}{{/if}} › History</nav>
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

/// What a form's input carries besides its type: its id (for its label), name, and, when its
/// value was refused, a pointer to the message.
const ATTRS: &str = r#"id="id_{{name}}" name="{{name}}"{{#if error}} aria-invalid="true" aria-describedby="err_{{name}}"{{/if}}"#;

/// Add and edit (`view: create` / `update`): one labelled input per field of `views::form`'s
/// field context, the widget its type calls for, its message under it; the messages linked
/// from a box at the top, which is focused (`autofocus` on its first link).
const FORM_BODY: &str = r##"<title>{{form.title}} · Administration · {{site.name}}</title>
TOP<nav class="crumbs" aria-label="Breadcrumb"><a href="{{url admin.index_route}}">Home</a> › <a href="{{url admin.list_route}}LISTQUERY">{{admin.label}}</a> › {{#if object}}{{object.pk}}{{else}}Add{{/if}}</nav>
<main id="content">
<h1>{{form.title}}</h1>
{{#if form.has_errors}}<div class="errors" role="alert" tabindex="-1" autofocus><p>Please correct the errors below.</p><ul>{{#each form.fields}}{{#if error}}<li><a href="#id_{{name}}">{{label}}: {{error}}</a></li>{{/if}}{{/each}}</ul></div>{{/if}}
<form method="post" class="edit" novalidate>
{{csrf_input}}
{{#each form.fields}}<div class="field{{#if error}} invalid{{/if}}">
{{#if html}}{{{html}}}
{{else if (eq widget "checkbox")}}<label><input type="checkbox" ATTRS{{#if checked}} checked{{/if}}> {{label}}</label>
{{else}}<label for="id_{{name}}">{{label}}</label>
{{#if (eq widget "textarea")}}<textarea ATTRS{{#if required}} required{{/if}}>{{value}}</textarea>
{{else if (eq widget "select")}}<select ATTRS>{{#unless required}}<option value="">---------</option>{{/unless}}{{#each options}}<option value="{{value}}"{{#if selected}} selected{{/if}}>{{label}}</option>{{/each}}</select>
{{else if (eq widget "raw_id")}}RAWID
{{else if (eq widget "select_multiple")}}<select ATTRS multiple size="6">{{#each options}}<option value="{{value}}"{{#if selected}} selected{{/if}}>{{label}}</option>{{/each}}</select>
{{else}}<input type="{{widget}}" ATTRS value="{{value}}"{{#if max_length}} maxlength="{{max_length}}"{{/if}}{{#if required}} required{{/if}}>
{{/if}}{{/if}}{{#if error}}<p class="error" id="err_{{name}}">{{error}}</p>{{/if}}
</div>
{{/each}}<div class="submit"><button type="submit" name="_save">Save</button>
<button type="submit" name="_addanother">Save and add another</button>
<button type="submit" name="_continue">Save and continue editing</button>
{{#if object}}<a href="{{url admin.history_route pk=object.pk}}PRESERVED">History</a>
<a class="delete" href="{{url admin.delete_route pk=object.pk}}PRESERVED">Delete</a>{{/if}}</div>
</form>
{{#if form.lookups}}{{#each form.fields}}{{#if lookup_url}}<form id="lookup_{{name}}" action="{{lookup_url}}" method="get" target="_blank" rel="noopener"></form>
{{/if}}{{/each}}{{/if}}"##;

/// A foreign key or many_to_many past a select's cap (`admin::raw_id`): the keys in a text
/// input, a search box and "Look up", which open the target's list searched (`?q=`) in a new
/// tab (they belong to the field's own GET form, `LOOKUPS`, outside the edit form: no
/// script), and the label of each row held.
const RAWID: &str = r#"<span class="lookup"><input type="text" ATTRS value="{{value}}" class="raw-id" autocomplete="off"{{#unless many}}{{#if required}} required{{/if}}{{/unless}}>{{#if lookup_url}} <input type="search" name="q" form="lookup_{{name}}" aria-label="Search for {{label}}" placeholder="Search" class="raw-id"> <button type="submit" form="lookup_{{name}}">Look up<span class="skip"> {{label}}</span></button>{{/if}}{{#each chosen}} <strong>{{#if href}}<a href="{{href}}">{{label}}</a>{{else}}{{label}}{{/if}}</strong>{{/each}}</span>{{#if many}}<small class="help">Keys separated by commas.</small>{{/if}}"#;

/// Delete's confirmation (`view: delete`): what the cascade removes, what it empties, or what
/// forbids it (`db::write::cascade_plan`, as `views::form` puts it in `form.plan`).
const DELETE_BODY: &str = r##"<title>{{form.title}} · Administration · {{site.name}}</title>
TOP<nav class="crumbs" aria-label="Breadcrumb"><a href="{{url admin.index_route}}">Home</a> › <a href="{{url admin.list_route}}LISTQUERY">{{admin.label}}</a> › <a href="{{url admin.change_route pk=object.pk}}PRESERVED">{{object.pk}}</a> › Delete</nav>
<main id="content">
<h1>{{form.title}}</h1>
{{#if form.blocked}}<p class="note">It cannot be deleted: these rows point at it and forbid it (<code>on_delete: restrict</code>).</p>
<ul class="blocked">{{#each form.plan.blocked}}<li>PLAN</li>{{/each}}</ul>
<p><a href="{{url admin.change_route pk=object.pk}}PRESERVED">Back</a></p>
{{else}}{{#if form.plan.deleted}}<p>Deleting it also deletes these rows:</p>
<ul class="deleted">{{#each form.plan.deleted}}<li>PLAN</li>{{/each}}</ul>{{else}}<p>No other row is deleted with it.</p>{{/if}}
{{#if form.plan.set_null}}<p>These rows are kept, their link to it emptied:</p>
<ul class="set-null">{{#each form.plan.set_null}}<li>PLAN</li>{{/each}}</ul>{{/if}}
<form method="post" class="submit">
{{csrf_input}}
<button type="submit" class="danger">Yes, delete it</button>
<a href="{{url admin.change_route pk=object.pk}}PRESERVED">No, take me back</a>
</form>
{{/if}}
"##;

/// One entry of a cascade plan: the model, how many rows, the first few by name.
const PLAN: &str = r#"{{model}}: {{count}}{{#if labels}} ({{#each labels}}{{#unless @first}}, {{/unless}}{{this}}{{/each}}{{#if more}}, …{{/if}}){{/if}}"#;

/// The admin's sign-in page (`view: login`); with no user at all, the command that makes one;
/// to a signed-in user who is not staff (sent here by an admin page), Django's admin's words.
const LOGIN_BODY: &str = r##"<title>Sign in · Administration · {{site.name}}</title>
TOP<main id="content">
<h1>Sign in</h1>
{{#if user.is_authenticated}}{{#unless user.is_staff}}<p class="error" role="alert">You are authenticated as {{user.username}}, but are not authorized to access this page. Would you like to login to a different account?</p>{{/unless}}{{/if}}
{{#if form.no_users}}<div class="note"><p>This site has no user yet. Make a staff user on the server, in a terminal (the password is asked for), then sign in here:</p>
<pre><code>trellis user add --staff {{admin.site_dir}} USERNAME</code></pre></div>{{/if}}
{{#if form.error}}<p class="error" role="alert">{{form.error}}</p>{{/if}}
<form method="post" class="edit">
{{csrf_input}}
<div class="field"><label for="id_username">Username</label>
<input id="id_username" name="username" value="{{form.username}}" autocomplete="username" required autofocus></div>
<div class="field"><label for="id_password">Password</label>
<input id="id_password" type="password" name="password" autocomplete="current-password" required></div>
{{#if form.next}}<input type="hidden" name="next" value="{{form.next}}">{{/if}}
<button type="submit">Sign in</button>
</form>
"##;

/// Each built-in template's name and text.
pub fn all() -> [(&'static str, String); 7] {
    let page = |body: &str| {
        let body = body
            .replace("TOP", TOP)
            .replace("VALUE", VALUE)
            .replace("RECENT", RECENT)
            .replace("RAWID", RAWID)
            .replace("ATTRS", ATTRS)
            .replace("PLAN", PLAN)
            .replace("PRESERVED", PRESERVED)
            .replace("LISTQUERY", LISTQUERY);
        [HEAD, &body, FOOT].concat()
    };
    [
        (INDEX, page(INDEX_BODY)),
        (LIST, page(LIST_BODY)),
        (CHANGE, page(CHANGE_BODY)),
        (HISTORY, page(HISTORY_BODY)),
        (FORM, page(FORM_BODY)),
        (DELETE, page(DELETE_BODY)),
        (LOGIN, page(LOGIN_BODY)),
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
