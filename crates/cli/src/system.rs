//! `berth version` and `berth info`, laid out as docker CLI v28 prints them
//! (`cli/command/system/version.go`, `info.go`).
//!
//! `version` renders docker's own default template (aligned by a tabwriter with minimum cell
//! width 20) over the client's and the daemon's versions; `info` prints the same fields, in the
//! same order and wording, as docker's `prettyPrintInfo`. Both accept `--format` (`json`, or a
//! Go template over docker's field names). The client section is printed even when the daemon
//! cannot be reached; the command then fails with the connection error.

use anyhow::anyhow;
use api_types::system::{SystemInfo, SystemVersion};
use client::{Client, ClientError};
use gotmpl::{MissingKey, TabConfig, TabWriter, Template};
use serde_json::{Map, Value, json};

use crate::format::{bytes_size, print};

const INSPECT_FORMAT_HELP: &str = "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates";

/// `berth version`.
#[derive(Debug, clap::Args)]
pub struct VersionArgs {
    /// Format output using a custom template
    #[arg(short = 'f', long, value_name = "string", long_help = INSPECT_FORMAT_HELP)]
    pub format: Option<String>,
}

/// `berth info`.
#[derive(Debug, clap::Args)]
pub struct InfoArgs {
    /// Format output using a custom template
    #[arg(short = 'f', long, value_name = "string", long_help = INSPECT_FORMAT_HELP)]
    pub format: Option<String>,
}

/// The client's version, Go-style architecture name.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

const CLIENT_VERSION: &str = env!("CARGO_PKG_VERSION");
const GIT_COMMIT: &str = match option_env!("BERTH_GIT_COMMIT") {
    Some(c) => c,
    None => "unknown",
};
const BUILD_TIME: &str = match option_env!("BERTH_BUILD_TIME") {
    Some(t) => t,
    None => "",
};

/// docker's default `version` template, with `getDetailsOrder` replaced by ranging over the
/// details map (templates range over maps in sorted key order, which is what it computed).
const VERSION_TEMPLATE: &str = r#"{{with .Client -}}
Client:{{if ne .Platform nil}}{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}{{end}}
 Version:	{{.Version}}
 API version:	{{.APIVersion}}{{if ne .APIVersion .DefaultAPIVersion}} (downgraded from {{.DefaultAPIVersion}}){{end}}
 Go version:	{{.GoVersion}}
 Git commit:	{{.GitCommit}}
 Built:	{{.BuildTime}}
 OS/Arch:	{{.Os}}/{{.Arch}}
 Context:	{{.Context}}
{{- end}}

{{- if ne .Server nil}}{{with .Server}}

Server:{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}
 {{- range $component := .Components}}
 {{$component.Name}}:
  {{- if eq $component.Name "Engine" }}
  Version:	{{.Version}}
  API version:	{{index .Details "ApiVersion"}} (minimum version {{index .Details "MinAPIVersion"}})
  Go version:	{{index .Details "GoVersion"}}
  Git commit:	{{index .Details "GitCommit"}}
  Built:	{{index .Details "BuildTime"}}
  OS/Arch:	{{index .Details "Os"}}/{{index .Details "Arch"}}
  Experimental:	{{index .Details "Experimental"}}
  {{- else }}
  Version:	{{$component.Version}}
  {{- range $key, $value := $component.Details}}
  {{$key}}:	{{$value}}
   {{- end}}
  {{- end}}
 {{- end}}
 {{- end}}{{- end}}"#;

/// Go's `reformatDate`: an RFC 3339 build time in `time.ANSIC` form, anything else as is.
fn reformat_date(s: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.format("%a %b %e %H:%M:%S %Y").to_string())
        .unwrap_or_else(|_| s.to_owned())
}

/// The client half of `version`: `go_names` picks the Go field names templates use
/// (`APIVersion`) over the JSON names `--format json` prints (`ApiVersion`).
fn client_version(go_names: bool) -> Value {
    let mut m = Map::new();
    if go_names {
        m.insert("Platform".into(), Value::Null);
    }
    m.insert("Version".into(), CLIENT_VERSION.into());
    m.insert(if go_names { "APIVersion" } else { "ApiVersion" }.into(), client::API_VERSION.into());
    m.insert("DefaultAPIVersion".into(), client::API_VERSION.into());
    m.insert("GitCommit".into(), GIT_COMMIT.into());
    m.insert("GoVersion".into(), "rust".into());
    m.insert("Os".into(), std::env::consts::OS.into());
    m.insert("Arch".into(), go_arch().into());
    if go_names || !BUILD_TIME.is_empty() {
        m.insert("BuildTime".into(), reformat_date(BUILD_TIME).into());
    }
    m.insert("Context".into(), "default".into());
    Value::Object(m)
}

/// The server half of `version`, with an `Engine` component whose details are complete (as
/// docker adds one when the daemon sent none).
fn server_version(v: &SystemVersion, go_names: bool) -> Value {
    let mut v = v.clone();
    let top = [
        ("ApiVersion", v.api_version.clone()),
        ("MinAPIVersion", v.min_api_version.clone()),
        ("GitCommit", v.git_commit.clone()),
        ("GoVersion", v.go_version.clone()),
        ("Os", v.os.clone()),
        ("Arch", v.arch.clone()),
        ("BuildTime", v.build_time.clone()),
        ("Experimental", v.experimental.to_string()),
    ];
    if !v.components.iter().any(|c| c.name == "Engine") {
        v.components.push(api_types::system::ComponentVersion {
            name: "Engine".into(),
            version: v.version.clone(),
            details: Default::default(),
        });
    }
    for comp in v.components.iter_mut().filter(|c| c.name == "Engine") {
        for (k, val) in &top {
            comp.details.entry((*k).to_owned()).or_insert_with(|| val.clone());
        }
        if let Some(b) = comp.details.get_mut("BuildTime") {
            *b = reformat_date(b);
        }
    }
    let mut j = serde_json::to_value(&v).unwrap_or(Value::Null);
    if go_names && let Some(m) = j.as_object_mut() {
        if let Some(api) = m.remove("ApiVersion") {
            m.insert("APIVersion".into(), api);
        }
        m.entry("KernelVersion").or_insert_with(|| "".into());
        m.entry("BuildTime").or_insert_with(|| "".into());
        m.entry("MinAPIVersion").or_insert_with(|| "".into());
        m.entry("Experimental").or_insert(Value::Bool(false));
    }
    j
}

/// `berth version`.
pub async fn version(c: &Client, a: VersionArgs) -> anyhow::Result<i32> {
    let format = a.format.as_deref().unwrap_or("");
    let (text, go_names) = match format {
        "" => (VERSION_TEMPLATE, true),
        "json" => ("{{json .}}", false),
        f => (f, true),
    };
    let tmpl = match Template::parse_named("version", text) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("template parsing error: {e}");
            return Ok(64);
        }
    };
    let server: Result<SystemVersion, ClientError> = c.get("/version").await;
    let data = json!({
        "Client": client_version(go_names),
        "Server": server.as_ref().map_or(Value::Null, |v| server_version(v, go_names)),
    });
    let rendered = tmpl.render(&data);
    let mut tw = TabWriter::new(TabConfig { minwidth: 20, padding: 1, ..TabConfig::default() });
    let (out, exec_err) = match rendered {
        Ok(s) => (s, None),
        Err(e) => (String::new(), Some(e)),
    };
    tw.write_str(&out);
    tw.write_str("\n");
    print(&tw.finish());
    server?;
    if let Some(e) = exec_err {
        return Err(anyhow!("{e}"));
    }
    Ok(0)
}

// ---- info ----

/// A decoded security option: its name and `key=value` options.
type SecurityOpt = (String, Vec<(String, String)>);

/// docker's `DecodeSecurityOptions`: `name=seccomp,profile=builtin` is `seccomp` with a
/// profile.
fn security_options(opts: &[String]) -> Result<Vec<SecurityOpt>, String> {
    let mut out = Vec::new();
    for opt in opts {
        if !opt.contains('=') {
            out.push((opt.clone(), Vec::new()));
            continue;
        }
        let mut name = String::new();
        let mut kvs = Vec::new();
        for s in opt.split(',') {
            let (k, v) = s.split_once('=').ok_or_else(|| format!("invalid security option {s:?}"))?;
            if k.is_empty() || v.is_empty() {
                return Err("invalid empty security option".into());
            }
            if k == "name" {
                name = v.to_owned();
            } else {
                kvs.push((k.to_owned(), v.to_owned()));
            }
        }
        out.push((name, kvs));
    }
    Ok(out)
}

/// The client section of `info`.
fn client_info_text() -> String {
    format!("Client:\n Version:    {CLIENT_VERSION}\n Context:    default\n Debug Mode: false\n")
}

/// Output lines, as Go's `fmt.Println` writes them.
#[derive(Default)]
struct Lines(String);

impl Lines {
    fn line(&mut self, s: String) {
        self.0.push_str(&s);
        self.0.push('\n');
    }

    /// docker's `fprintlnNonEmpty`: `label value`, unless the value is empty.
    fn non_empty(&mut self, label: &str, value: &str) {
        if !value.is_empty() {
            self.line(format!("{label} {value}"));
        }
    }
}

/// docker's `prettyPrintServerInfo`: stdout text, and errors to report.
fn server_info_text(i: &SystemInfo) -> (String, Vec<String>) {
    let mut o = Lines::default();
    let mut errs = Vec::new();
    o.line(format!(" Containers: {}", i.containers));
    o.line(format!("  Running: {}", i.containers_running));
    o.line(format!("  Paused: {}", i.containers_paused));
    o.line(format!("  Stopped: {}", i.containers_stopped));
    o.line(format!(" Images: {}", i.images));
    o.non_empty(" Server Version:", &i.server_version);
    o.non_empty(" Storage Driver:", &i.driver);
    for [k, v] in &i.driver_status {
        o.line(format!("  {k}: {v}"));
    }
    for [k, v] in &i.system_status {
        o.line(format!(" {k}: {v}"));
    }
    o.non_empty(" Logging Driver:", &i.logging_driver);
    o.non_empty(" Cgroup Driver:", &i.cgroup_driver);
    o.non_empty(" Cgroup Version:", &i.cgroup_version);
    o.line(" Plugins:".into());
    o.line(format!("  Volume: {}", i.plugins.volume.join(" ")));
    o.line(format!("  Network: {}", i.plugins.network.join(" ")));
    if !i.plugins.authorization.is_empty() {
        o.line(format!("  Authorization: {}", i.plugins.authorization.join(" ")));
    }
    o.line(format!("  Log: {}", i.plugins.log.join(" ")));
    if !i.cdi_spec_dirs.is_empty() {
        o.line(" CDI spec directories:".into());
        for d in &i.cdi_spec_dirs {
            o.line(format!("  {d}"));
        }
    }
    if !i.discovered_devices.is_empty() {
        o.line(" Discovered Devices:".into());
        for d in &i.discovered_devices {
            o.line(format!("  {}: {}", d.source, d.id));
        }
    }
    o.line(format!(" Swarm: {}", i.swarm.local_node_state));
    if !i.runtimes.is_empty() {
        o.line(format!(" Runtimes: {}", i.runtimes.keys().cloned().collect::<Vec<_>>().join(" ")));
        o.line(format!(" Default Runtime: {}", i.default_runtime));
    }
    if i.os_type == "linux" {
        o.line(format!(" Init Binary: {}", i.init_binary));
        o.line(format!(" containerd version: {}", i.containerd_commit.id));
        o.line(format!(" runc version: {}", i.runc_commit.id));
        o.line(format!(" init version: {}", i.init_commit.id));
        if !i.security_options.is_empty() {
            match security_options(&i.security_options) {
                Ok(opts) => {
                    o.line(" Security Options:".into());
                    for (name, kvs) in opts {
                        o.line(format!("  {name}"));
                        for (k, v) in kvs {
                            if k == "profile" {
                                o.line(format!("   Profile: {v}"));
                            }
                        }
                    }
                }
                Err(e) => errs.push(e),
            }
        }
    }
    if i.os_type == "windows" {
        o.line(format!(" Default Isolation: {}", i.isolation));
    }
    o.non_empty(" Kernel Version:", &i.kernel_version);
    o.non_empty(" Operating System:", &i.operating_system);
    o.non_empty(" OSType:", &i.os_type);
    o.non_empty(" Architecture:", &i.architecture);
    o.line(format!(" CPUs: {}", i.ncpu));
    o.line(format!(" Total Memory: {}", bytes_size(crate::format::as_f64(i.mem_total))));
    o.non_empty(" Name:", &i.name);
    o.non_empty(" ID:", &i.id);
    o.line(format!(" Docker Root Dir: {}", i.docker_root_dir));
    o.line(format!(" Debug Mode: {}", i.debug));
    if i.debug {
        o.line(format!("  File Descriptors: {}", i.n_fd));
        o.line(format!("  Goroutines: {}", i.n_goroutines));
        o.line(format!("  System Time: {}", i.system_time));
        o.line(format!("  EventsListeners: {}", i.n_events_listener));
    }
    o.non_empty(" HTTP Proxy:", &i.http_proxy);
    o.non_empty(" HTTPS Proxy:", &i.https_proxy);
    o.non_empty(" No Proxy:", &i.no_proxy);
    if !i.labels.is_empty() {
        o.line(" Labels:".into());
        for l in &i.labels {
            o.line(format!("  {l}"));
        }
    }
    o.line(format!(" Experimental: {}", i.experimental_build));
    let reg = &i.registry_config;
    if !reg.insecure_registry_cidrs.is_empty() || !reg.index_configs.is_empty() {
        o.line(" Insecure Registries:".into());
        for c in reg.index_configs.values().filter(|c| !c.secure) {
            o.line(format!("  {}", c.name));
        }
        for cidr in &reg.insecure_registry_cidrs {
            o.line(format!("  {cidr}"));
        }
    }
    if !reg.mirrors.is_empty() {
        o.line(" Registry Mirrors:".into());
        for m in &reg.mirrors {
            o.line(format!("  {m}"));
        }
    }
    o.line(format!(" Live Restore Enabled: {}", i.live_restore_enabled));
    if !i.product_license.is_empty() {
        o.line(format!(" Product License: {}", i.product_license));
    }
    if !i.default_address_pools.is_empty() {
        o.line(" Default Address Pools:".into());
        for p in &i.default_address_pools {
            o.line(format!("   Base: {}, Size: {}", p.base, p.size));
        }
    }
    o.line(String::new());
    (o.0, errs)
}

/// The client fields `info --format` sees under `ClientInfo`.
fn client_info_value() -> Value {
    let mut v = client_version(false);
    if let Some(m) = v.as_object_mut() {
        m.remove("ApiVersion");
        m.insert("Debug".into(), false.into());
        m.insert("Plugins".into(), json!([]));
        m.insert("Warnings".into(), Value::Null);
    }
    v
}

/// Whether an `info --format` template needs the daemon (docker's `needsServerInfo`): it does
/// unless it renders from the client fields alone.
fn needs_server(format: &str) -> bool {
    if format == "json" || format == "{{json .}}" {
        return true;
    }
    if !format.as_bytes().windows(2).any(|w| w[0] == b'.' && w[1].is_ascii_alphabetic()) {
        return true;
    }
    match Template::parse_plain(format) {
        Ok(t) => t.with_missing_key(MissingKey::Error).render(&json!({"ClientInfo": client_info_value()})).is_err(),
        Err(_) => true,
    }
}

/// `berth info`.
pub async fn info(c: &Client, a: InfoArgs) -> anyhow::Result<i32> {
    let format = a.format.as_deref().unwrap_or("");
    if format.is_empty() {
        let server: Result<SystemInfo, ClientError> = c.get("/info").await;
        let mut out = client_info_text();
        out.push_str("\nServer:\n");
        let mut errs = Vec::new();
        let mut warnings = Vec::new();
        match &server {
            Ok(i) => {
                let (text, e) = server_info_text(i);
                out.push_str(&text);
                errs.extend(e);
                warnings.clone_from(&i.warnings);
            }
            Err(ClientError::Connect { .. }) => {}
            Err(e) => errs.push(e.to_string()),
        }
        print(&out);
        for w in &warnings {
            eprintln!("{w}");
        }
        for e in &errs {
            eprintln!("ERROR: {e}");
        }
        if let Err(e @ ClientError::Connect { .. }) = server {
            return Err(e.into());
        }
        if !errs.is_empty() {
            return Err(anyhow!("errors pretty printing info"));
        }
        return Ok(0);
    }

    let text = if format == "json" { "{{json .}}" } else { format };
    let tmpl = match Template::parse_plain(text) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("template parsing error: {e}");
            return Ok(64);
        }
    };
    let mut data = Map::new();
    let mut conn_err = None;
    if needs_server(format) {
        match c.get::<Value>("/info").await {
            Ok(Value::Object(m)) => data = m,
            Ok(_) => {}
            Err(e @ ClientError::Connect { .. }) => conn_err = Some(e),
            Err(e) => {
                eprintln!("{e}");
                data.insert("ServerErrors".into(), json!([e.to_string()]));
            }
        }
    }
    data.insert("ClientInfo".into(), client_info_value());
    let rendered = tmpl.render(&Value::Object(data));
    match rendered {
        Ok(s) => print(&format!("{s}\n")),
        Err(e) => {
            print("\n");
            if let Some(c) = conn_err {
                eprintln!("{c}");
            }
            return Err(anyhow!("{e}"));
        }
    }
    if let Some(e) = conn_err {
        return Err(e.into());
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn render_version(server: Option<&SystemVersion>) -> String {
        let data = json!({
            "Client": client_version(true),
            "Server": server.map_or(Value::Null, |v| server_version(v, true)),
        });
        let out = Template::parse_named("version", VERSION_TEMPLATE).unwrap().render(&data).unwrap();
        let mut tw = TabWriter::new(TabConfig { minwidth: 20, padding: 1, ..TabConfig::default() });
        tw.write_str(&out);
        tw.write_str("\n");
        tw.finish()
    }

    #[test]
    fn version_layout_matches_docker() {
        let mut details = BTreeMap::new();
        details.insert("ApiVersion".to_owned(), "1.51".to_owned());
        details.insert("MinAPIVersion".to_owned(), "1.24".to_owned());
        details.insert("Os".to_owned(), "linux".to_owned());
        details.insert("Arch".to_owned(), "amd64".to_owned());
        let v = SystemVersion {
            platform: api_types::system::VersionPlatform { name: "berth".into() },
            components: vec![
                api_types::system::ComponentVersion { name: "Engine".into(), version: "0.1.0".into(), details },
                api_types::system::ComponentVersion {
                    name: "shim".into(),
                    version: "0.1.0".into(),
                    details: BTreeMap::from([("GitCommit".to_owned(), "abc".to_owned())]),
                },
            ],
            version: "0.1.0".into(),
            api_version: "1.51".into(),
            min_api_version: "1.24".into(),
            git_commit: "deadbee".into(),
            go_version: "rust".into(),
            os: "linux".into(),
            arch: "amd64".into(),
            ..Default::default()
        };
        let out = render_version(Some(&v));
        let want_server = "\nServer: berth\n Engine:\n  Version:          0.1.0\n  API version:      1.51 (minimum version 1.24)\n  Go version:       rust\n  Git commit:       deadbee\n  Built:            \n  OS/Arch:          linux/amd64\n  Experimental:     false\n shim:\n  Version:          0.1.0\n  GitCommit:        abc\n";
        assert!(out.starts_with("Client:\n Version:           "), "{out}");
        assert!(out.contains("\n API version:       1.51\n"), "{out}");
        assert!(
            out.contains(&format!(
                "\n OS/Arch:           {}/{}\n Context:           default\n",
                std::env::consts::OS,
                go_arch()
            )),
            "{out}"
        );
        assert!(out.ends_with(want_server), "{out}");
        let out = render_version(None);
        assert!(out.ends_with(" Context:           default\n"), "{out}");
        assert!(!out.contains("Server"), "{out}");
    }

    #[test]
    fn info_layout_matches_docker() {
        let i = SystemInfo {
            id: "ABCD".into(),
            containers: 3,
            containers_running: 1,
            containers_paused: 0,
            containers_stopped: 2,
            images: 4,
            driver: "overlay2".into(),
            driver_status: vec![["Backing Filesystem".into(), "extfs".into()]],
            cgroup_driver: "cgroupfs".into(),
            cgroup_version: "2".into(),
            logging_driver: "json-file".into(),
            plugins: api_types::system::PluginsInfo {
                volume: vec!["local".into()],
                network: vec!["bridge".into(), "host".into()],
                authorization: vec![],
                log: vec!["json-file".into()],
            },
            runtimes: BTreeMap::from([("berth".to_owned(), Default::default())]),
            default_runtime: "berth".into(),
            os_type: "linux".into(),
            init_binary: "berth-init".into(),
            security_options: vec!["name=seccomp,profile=builtin".into(), "name=cgroupns".into()],
            kernel_version: "6.1.0".into(),
            operating_system: "Debian GNU/Linux 12 (bookworm)".into(),
            architecture: "x86_64".into(),
            ncpu: 2,
            mem_total: 25_190_000_000,
            name: "host".into(),
            docker_root_dir: "/var/lib/berth".into(),
            server_version: "0.1.0".into(),
            ..Default::default()
        };
        let (out, errs) = server_info_text(&i);
        assert!(errs.is_empty());
        assert_eq!(
            out,
            " Containers: 3\n  Running: 1\n  Paused: 0\n  Stopped: 2\n Images: 4\n Server Version: 0.1.0\n Storage Driver: overlay2\n  Backing Filesystem: extfs\n Logging Driver: json-file\n Cgroup Driver: cgroupfs\n Cgroup Version: 2\n Plugins:\n  Volume: local\n  Network: bridge host\n  Log: json-file\n Swarm: inactive\n Runtimes: berth\n Default Runtime: berth\n Init Binary: berth-init\n containerd version: \n runc version: \n init version: \n Security Options:\n  seccomp\n   Profile: builtin\n  cgroupns\n Kernel Version: 6.1.0\n Operating System: Debian GNU/Linux 12 (bookworm)\n OSType: linux\n Architecture: x86_64\n CPUs: 2\n Total Memory: 23.46GiB\n Name: host\n ID: ABCD\n Docker Root Dir: /var/lib/berth\n Debug Mode: false\n Experimental: false\n Live Restore Enabled: false\n\n"
        );
        assert_eq!(
            client_info_text(),
            format!("Client:\n Version:    {CLIENT_VERSION}\n Context:    default\n Debug Mode: false\n")
        );
    }

    #[test]
    fn info_format_needs_server_only_when_asked() {
        assert!(!needs_server("{{.ClientInfo.Version}}"));
        assert!(needs_server("{{.ServerVersion}}"));
        assert!(needs_server("json"));
        assert!(needs_server("plain text"));
    }

    #[test]
    fn security_option_decoding() {
        assert_eq!(
            security_options(&["name=seccomp,profile=builtin".into(), "apparmor".into()]).unwrap(),
            vec![("seccomp".into(), vec![("profile".into(), "builtin".into())]), ("apparmor".into(), vec![])]
        );
        assert!(security_options(&["name=x,bad".into()]).is_err());
    }
}
