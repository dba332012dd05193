//! berth's command line: the docker CLI's commands, flags, output and exit codes, spoken to a
//! berth daemon over its Docker Engine API socket (`-H`/`BERTH_HOST`, default
//! `unix:///run/berth/berth.sock`).
//!
//! - [`run`]: `run`, `create`, `start`, `attach`, `exec`, `wait`, `logs` (the streaming ones).
//! - [`containers`]: `ps`, `inspect`, `top`, `stop`, `kill`, `restart`, `rm`, `rename`, `pause`,
//!   `unpause`, `diff`, `export`, `cp`, `container prune`.
//! - [`images`]: `images`, `load`, `save`, `import`, `tag`, `rmi`, `history`, `image inspect`,
//!   `image prune`.
//! - [`network`]: `network create`, `ls`, `inspect`, `rm`, `prune`, `connect`, `disconnect`.
//! - [`ports`]: `port` (with berth's `port add` and `port rm`) and the `-p`/`--expose` parsers.
//! - [`persist`]: `commit`, and berth's `upgrade` and `persist ls|rm` (`run --persist` layers).
//! - [`update`]: `update` (limits, ulimits and restart policy of existing containers).
//! - [`stats`]: `stats`, the live usage table.
//! - [`system`]: `version`, `info`.
//! - [`volume`]: `volume create`, `ls`, `inspect`, `rm`, `prune`; `system df`, `system prune`;
//!   berth's `mount add` and `mount rm` (mounts of a running container).
//! - [`format`]: Docker's units, durations and table output.
//!
//! Exit codes follow docker: 0, 1 for errors, 125 when `run` fails in the daemon, 126/127 when
//! the command can't be run or found, otherwise the container's own exit code.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod containers;
pub mod format;
pub mod images;
pub mod network;
pub mod persist;
pub mod ports;
pub mod run;
pub mod stats;
pub mod supervise;
pub mod system;
mod term;
pub mod update;
pub mod volume;

use clap::{Parser, Subcommand};

/// Top-level command line.
#[derive(Debug, Parser)]
#[command(
    name = "berth",
    version,
    about = "A container engine: runs OCI and Docker images as process trees",
    disable_help_subcommand = true
)]
pub struct Cli {
    /// Daemon socket to connect to (the daemon: to listen on, repeatable: unix://PATH,
    /// tcp://HOST:PORT, fd://).
    #[arg(short = 'H', long = "host", env = "BERTH_HOST", global = true, value_name = "unix:///path", action = clap::ArgAction::Append)]
    pub host: Vec<String>,
    /// Debug output.
    #[arg(short = 'D', long = "debug", global = true)]
    pub debug: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon.
    Daemon(DaemonArgs),
    /// Create and run a new container from an image.
    Run(run::RunArgs),
    /// Create a new container.
    Create(run::CreateArgs),
    /// Start one or more stopped containers.
    Start(run::StartArgs),
    /// Attach local standard input, output, and error streams to a running container.
    Attach(run::AttachArgs),
    /// Execute a command in a running container.
    Exec(run::ExecArgs),
    /// Block until one or more containers stop, then print their exit codes.
    Wait(run::WaitArgs),
    /// Fetch the logs of a container.
    Logs(run::LogsArgs),
    /// List containers.
    #[command(alias = "ls")]
    Ps(containers::PsArgs),
    /// Return low-level information on Docker objects.
    Inspect(containers::InspectArgs),
    /// Display the running processes of a container.
    Top(containers::TopArgs),
    /// Stop one or more running containers.
    Stop(containers::StopArgs),
    /// Kill one or more running containers.
    Kill(containers::KillArgs),
    /// Restart one or more containers.
    Restart(containers::StopArgs),
    /// Remove one or more containers.
    Rm(containers::RmArgs),
    /// Rename a container.
    Rename(containers::RenameArgs),
    /// Pause all processes within one or more containers.
    Pause(containers::NamesArgs),
    /// Unpause all processes within one or more containers.
    Unpause(containers::NamesArgs),
    /// Update configuration of one or more containers.
    Update(update::UpdateArgs),
    /// Display a live stream of container(s) resource usage statistics.
    Stats(stats::StatsArgs),
    /// Inspect changes to files or directories on a container's filesystem.
    Diff(containers::DiffArgs),
    /// Export a container's filesystem as a tar archive.
    Export(containers::ExportArgs),
    /// Copy files/folders between a container and the local filesystem.
    Cp(containers::CpArgs),
    /// List port mappings or a specific mapping for the container; publish or unpublish ports.
    Port(ports::PortArgs),
    /// Create a new image from a container's changes.
    Commit(persist::CommitArgs),
    /// Re-create a container on a newer image, keeping its writable layer (berth's extension).
    #[command(long_about = persist::UPGRADE_HELP)]
    Upgrade(persist::UpgradeArgs),
    /// Manage the writable layers kept by `run --persist` (berth's extension).
    #[command(long_about = persist::PERSIST_HELP)]
    Persist {
        /// The persist command.
        #[command(subcommand)]
        command: persist::PersistCommand,
    },
    /// Manage containers.
    Container {
        /// The container command.
        #[command(subcommand)]
        command: ContainerCommand,
    },
    /// List images.
    Images(images::ImagesArgs),
    /// Load an image from a tar archive or STDIN.
    Load(images::LoadArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default).
    Save(images::SaveArgs),
    /// Import the contents from a tarball to create a filesystem image.
    Import(images::ImportArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE.
    Tag(images::TagArgs),
    /// Remove one or more images.
    Rmi(images::RmiArgs),
    /// Show the history of an image.
    History(images::HistoryArgs),
    /// Manage images.
    Image {
        /// The image command.
        #[command(subcommand)]
        command: ImageCommand,
    },
    /// Manage networks.
    Network {
        /// The network command.
        #[command(subcommand)]
        command: NetworkCommand,
    },
    /// Manage volumes.
    Volume {
        /// The volume command.
        #[command(subcommand)]
        command: VolumeCommand,
    },
    /// Attach or detach volumes and host paths of a container, also while it runs (berth).
    Mount {
        /// The mount command.
        #[command(subcommand)]
        command: MountCommand,
    },
    /// Status and control of a supervised container's programs (berth).
    Supervise(supervise::SuperviseArgs),
    /// Manage berth.
    System {
        /// The system command.
        #[command(subcommand)]
        command: SystemCommand,
    },
    /// Get real time events from the server.
    Events(run::EventsArgs),
    /// Show the berth version information.
    Version(system::VersionArgs),
    /// Display system-wide information.
    Info(system::InfoArgs),
}

/// `berth container ...`.
#[derive(Debug, Subcommand)]
pub enum ContainerCommand {
    /// List containers.
    #[command(alias = "list", alias = "ps")]
    Ls(containers::PsArgs),
    /// Create and run a new container from an image.
    Run(run::RunArgs),
    /// Create a new container.
    Create(run::CreateArgs),
    /// Start one or more stopped containers.
    Start(run::StartArgs),
    /// Attach to a running container.
    Attach(run::AttachArgs),
    /// Execute a command in a running container.
    Exec(run::ExecArgs),
    /// Block until one or more containers stop.
    Wait(run::WaitArgs),
    /// Fetch the logs of a container.
    Logs(run::LogsArgs),
    /// Display detailed information on one or more containers.
    Inspect(containers::InspectArgs),
    /// Display the running processes of a container.
    Top(containers::TopArgs),
    /// Stop one or more running containers.
    Stop(containers::StopArgs),
    /// Kill one or more running containers.
    Kill(containers::KillArgs),
    /// Restart one or more containers.
    Restart(containers::StopArgs),
    /// Remove one or more containers.
    #[command(alias = "remove")]
    Rm(containers::RmArgs),
    /// Rename a container.
    Rename(containers::RenameArgs),
    /// Pause all processes within one or more containers.
    Pause(containers::NamesArgs),
    /// Unpause all processes within one or more containers.
    Unpause(containers::NamesArgs),
    /// Update configuration of one or more containers.
    Update(update::UpdateArgs),
    /// Display a live stream of container(s) resource usage statistics.
    Stats(stats::StatsArgs),
    /// Inspect changes to files or directories on a container's filesystem.
    Diff(containers::DiffArgs),
    /// Export a container's filesystem as a tar archive.
    Export(containers::ExportArgs),
    /// Copy files/folders between a container and the local filesystem.
    Cp(containers::CpArgs),
    /// List port mappings or a specific mapping for the container; publish or unpublish ports.
    Port(ports::PortArgs),
    /// Remove all stopped containers.
    Prune(containers::PruneArgs),
    /// Create a new image from a container's changes.
    Commit(persist::CommitArgs),
    /// Re-create a container on a newer image, keeping its writable layer (berth's extension).
    #[command(long_about = persist::UPGRADE_HELP)]
    Upgrade(persist::UpgradeArgs),
}

/// `berth image ...`.
#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// List images.
    #[command(alias = "list")]
    Ls(images::ImagesArgs),
    /// Load an image from a tar archive or STDIN.
    Load(images::LoadArgs),
    /// Save one or more images to a tar archive.
    Save(images::SaveArgs),
    /// Import the contents from a tarball to create a filesystem image.
    Import(images::ImportArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE.
    Tag(images::TagArgs),
    /// Remove one or more images.
    #[command(alias = "remove")]
    Rm(images::RmiArgs),
    /// Show the history of an image.
    History(images::HistoryArgs),
    /// Display detailed information on one or more images.
    Inspect(images::ImageInspectArgs),
    /// Remove unused images.
    Prune(images::PruneArgs),
}

/// `berth network ...`.
#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    /// Connect a container to a network.
    Connect(network::ConnectArgs),
    /// Create a network.
    Create(network::CreateArgs),
    /// Disconnect a container from a network.
    Disconnect(network::DisconnectArgs),
    /// Display detailed information on one or more networks.
    Inspect(network::InspectArgs),
    /// List networks.
    #[command(alias = "list")]
    Ls(network::LsArgs),
    /// Remove all unused networks.
    Prune(network::PruneArgs),
    /// Remove one or more networks.
    #[command(alias = "remove")]
    Rm(network::RmArgs),
}

/// `berth volume ...`.
#[derive(Debug, Subcommand)]
pub enum VolumeCommand {
    /// Create a volume.
    Create(volume::CreateArgs),
    /// Display detailed information on one or more volumes.
    Inspect(volume::InspectArgs),
    /// List volumes.
    #[command(alias = "list")]
    Ls(volume::LsArgs),
    /// Remove unused local volumes.
    Prune(volume::PruneArgs),
    /// Remove one or more volumes.
    #[command(alias = "remove")]
    Rm(volume::RmArgs),
}

/// `berth mount ...` (berth's own).
#[derive(Debug, Subcommand)]
pub enum MountCommand {
    /// Mount a volume (created if missing), a host path or a tmpfs into a container, at once if
    /// it runs; kept in its configuration.
    Add(volume::MountAddArgs),
    /// Unmount what is mounted on a container path, at once if it runs.
    #[command(alias = "remove")]
    Rm(volume::MountRmArgs),
}

/// `berth system ...`.
#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// Show disk usage.
    Df(volume::DfArgs),
    /// Remove unused data.
    Prune(volume::SystemPruneArgs),
    /// Display system-wide information.
    Info(system::InfoArgs),
    /// Get real time events from the server.
    Events(run::EventsArgs),
}

/// `berth daemon` flags.
#[derive(Debug, clap::Args)]
pub struct DaemonArgs {
    /// Root directory of persistent state.
    #[arg(long, default_value = "/var/lib/berth")]
    pub root: std::path::PathBuf,
    /// Root directory of runtime state.
    #[arg(long = "exec-root", default_value = "/run/berth")]
    pub exec_root: std::path::PathBuf,
    /// Logging level (error, warn, info, debug, trace).
    #[arg(short = 'l', long = "log-level", default_value = "info")]
    pub log_level: String,
    /// Parent cgroup of the containers (in every hierarchy).
    #[arg(long = "cgroup-parent", default_value = "berth")]
    pub cgroup_parent: String,
    /// Group of the unix sockets the daemon creates (root:GROUP, mode 0660; a name or GID).
    #[arg(short = 'G', long = "group", default_value = "docker")]
    pub group: String,
    /// Use TLS on TCP listeners; implied by --tlsverify. --tls=false: plain TCP, explicitly.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub tls: Option<bool>,
    /// Use TLS and require client certificates signed by --tlscacert. --tlsverify=false: TLS
    /// without client certificates, explicitly.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub tlsverify: Option<bool>,
    /// Trust client certificates signed only by this CA [default: ~/.docker/ca.pem].
    #[arg(long, value_name = "FILE")]
    pub tlscacert: Option<std::path::PathBuf>,
    /// The server's TLS certificate [default: ~/.docker/cert.pem].
    #[arg(long, value_name = "FILE")]
    pub tlscert: Option<std::path::PathBuf>,
    /// The server's TLS key [default: ~/.docker/key.pem].
    #[arg(long, value_name = "FILE")]
    pub tlskey: Option<std::path::PathBuf>,
    /// Close API connections idle this long between requests (a Go duration: 90s, 5m).
    #[arg(long = "idle-timeout", default_value = "5m", value_parser = parse_timeout, value_name = "DURATION")]
    pub idle_timeout: std::time::Duration,
    /// Networking of the daemon.
    #[command(flatten)]
    pub network: DaemonNetwork,
    /// Run containers in user namespaces whose ids are the subordinate ids (/etc/subuid,
    /// /etc/subgid) of USER[:GROUP], or of `dockremap` (made when missing) for `default`.
    #[arg(long = "userns-remap", value_name = "default|USER[:GROUP]")]
    pub userns_remap: Option<String>,
}

/// The daemon's networking flags.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DaemonNetwork {
    /// The default bridge's interface name.
    #[arg(short = 'b', long = "bridge", default_value = "berth0")]
    pub bridge: String,
    /// The default bridge's address and subnet (CIDR, e.g. 172.17.0.1/16).
    #[arg(long = "bip")]
    pub bip: Option<String>,
    /// Where network subnets come from: base=CIDR,size=N (repeatable).
    #[arg(long = "default-address-pool")]
    pub default_address_pool: Vec<String>,
    /// berth's own nftables table (family ip).
    #[arg(long = "firewall-table", default_value = "berth")]
    pub firewall_table: String,
    /// DNS server for containers and for the embedded DNS server to forward to (repeatable;
    /// default: the host's).
    #[arg(long = "dns")]
    pub dns: Vec<String>,
}

fn parse_timeout(s: &str) -> Result<std::time::Duration, String> {
    match run::time::parse_go_duration(s).map(|d| d.to_std()) {
        Ok(Ok(d)) if !d.is_zero() => Ok(d),
        _ => Err(format!("invalid duration {s:?}: a positive Go duration such as 90s or 5m")),
    }
}

/// What the binary should do after parsing.
#[derive(Debug)]
pub enum Outcome {
    /// Run the daemon with these options (the binary wires the `daemon` crate).
    Daemon {
        /// Where to listen (`-H`, repeatable; empty: the default socket).
        hosts: Vec<String>,
        /// The daemon's flags (`--log-level` already raised by `-D`).
        args: Box<DaemonArgs>,
    },
    /// Exit with this status.
    Exit(i32),
}

/// Prints an error the way the docker CLI does and returns its exit status. A closed stdout
/// (`berth export c | head`) ends the command quietly with 141, as SIGPIPE ends a Go program.
pub fn report(e: &anyhow::Error) -> i32 {
    let broken_pipe = e
        .chain()
        .any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe));
    if broken_pipe {
        return 141;
    }
    eprintln!("{e:#}");
    1
}

/// Parses the command line and runs a client command; `daemon` is handed back to the caller.
pub fn main(args: Vec<String>) -> Outcome {
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 125,
            };
            let _ = e.print();
            return Outcome::Exit(code);
        }
    };
    if let Command::Daemon(mut d) = cli.command {
        if cli.debug {
            d.log_level = "debug".into();
        }
        return Outcome::Daemon { hosts: cli.host, args: Box::new(d) };
    }
    if cli.host.len() > 1 {
        eprintln!("Specify only one -H");
        return Outcome::Exit(1);
    }
    let host = cli.host.first().cloned().unwrap_or_else(|| client::DEFAULT_HOST.to_owned());
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("berth: starting the runtime: {e}");
            return Outcome::Exit(1);
        }
    };
    let code = rt.block_on(async move {
        let c = match client::Client::new(&host) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("{e}");
                return 1;
            }
        };
        dispatch(&c, cli.command).await
    });
    // Don't wait for a blocked stdin reader or other stragglers.
    rt.shutdown_background();
    Outcome::Exit(code)
}

async fn dispatch(c: &client::Client, cmd: Command) -> i32 {
    // The top-level shortcuts run as their `container ...` and `image ...` forms.
    use {Command as C, ContainerCommand as Ct, ImageCommand as Im};
    let container = match cmd {
        C::Daemon(_) => unreachable!("handled by main"),
        C::Run(a) => Ct::Run(a),
        C::Create(a) => Ct::Create(a),
        C::Start(a) => Ct::Start(a),
        C::Attach(a) => Ct::Attach(a),
        C::Exec(a) => Ct::Exec(a),
        C::Wait(a) => Ct::Wait(a),
        C::Logs(a) => Ct::Logs(a),
        C::Ps(a) => Ct::Ls(a),
        C::Inspect(a) => Ct::Inspect(a),
        C::Top(a) => Ct::Top(a),
        C::Stop(a) => Ct::Stop(a),
        C::Kill(a) => Ct::Kill(a),
        C::Restart(a) => Ct::Restart(a),
        C::Rm(a) => Ct::Rm(a),
        C::Rename(a) => Ct::Rename(a),
        C::Pause(a) => Ct::Pause(a),
        C::Unpause(a) => Ct::Unpause(a),
        C::Update(a) => Ct::Update(a),
        C::Stats(a) => Ct::Stats(a),
        C::Diff(a) => Ct::Diff(a),
        C::Export(a) => Ct::Export(a),
        C::Cp(a) => Ct::Cp(a),
        C::Port(a) => Ct::Port(a),
        C::Commit(a) => Ct::Commit(a),
        C::Upgrade(a) => Ct::Upgrade(a),
        C::Persist { command } => return persist::persist(c, command).await.unwrap_or_else(|e| report(&e)),
        C::Container { command } => command,
        C::Images(a) => return dispatch_image(c, Im::Ls(a)).await,
        C::Load(a) => return dispatch_image(c, Im::Load(a)).await,
        C::Save(a) => return dispatch_image(c, Im::Save(a)).await,
        C::Import(a) => return dispatch_image(c, Im::Import(a)).await,
        C::Tag(a) => return dispatch_image(c, Im::Tag(a)).await,
        C::Rmi(a) => return dispatch_image(c, Im::Rm(a)).await,
        C::History(a) => return dispatch_image(c, Im::History(a)).await,
        C::Image { command } => return dispatch_image(c, command).await,
        C::Network { command } => return dispatch_network(c, command).await,
        C::Volume { command } => return dispatch_volume(c, command).await,
        C::Supervise(a) => return supervise::supervise(c, a).await.unwrap_or_else(|e| report(&e)),
        C::Mount { command } => {
            let r = match command {
                MountCommand::Add(a) => volume::mount_add(c, a).await,
                MountCommand::Rm(a) => volume::mount_rm(c, a).await,
            };
            return r.unwrap_or_else(|e| report(&e));
        }
        C::System { command } => {
            let r = match command {
                SystemCommand::Df(a) => volume::df(c, a).await,
                SystemCommand::Prune(a) => volume::system_prune(c, a).await,
                SystemCommand::Info(a) => system::info(c, a).await,
                SystemCommand::Events(a) => run::events(c, a).await,
            };
            return r.unwrap_or_else(|e| report(&e));
        }
        C::Events(a) => return run::events(c, a).await.unwrap_or_else(|e| report(&e)),
        C::Version(a) => return system::version(c, a).await.unwrap_or_else(|e| report(&e)),
        C::Info(a) => return system::info(c, a).await.unwrap_or_else(|e| report(&e)),
    };
    dispatch_container(c, container).await
}

async fn dispatch_container(c: &client::Client, cmd: ContainerCommand) -> i32 {
    use ContainerCommand as C;
    let r: anyhow::Result<i32> = match cmd {
        C::Ls(a) => containers::ps(c, a).await,
        C::Run(a) => return run::run(c, a).await,
        C::Create(a) => run::create(c, a).await,
        C::Start(a) => run::start(c, a).await,
        C::Attach(a) => run::attach(c, a).await,
        C::Exec(a) => run::exec(c, a).await,
        C::Wait(a) => run::wait(c, a).await,
        C::Logs(a) => run::logs(c, a).await,
        C::Inspect(a) => containers::inspect(c, a).await,
        C::Top(a) => containers::top(c, a).await,
        C::Stop(a) => containers::stop(c, a, false).await,
        C::Kill(a) => containers::kill(c, a).await,
        C::Restart(a) => containers::stop(c, a, true).await,
        C::Rm(a) => containers::rm(c, a).await,
        C::Rename(a) => containers::rename(c, a).await,
        C::Pause(a) => containers::pause(c, a, true).await,
        C::Unpause(a) => containers::pause(c, a, false).await,
        C::Update(a) => update::update(c, a).await,
        C::Stats(a) => stats::stats(c, a).await,
        C::Diff(a) => containers::diff(c, a).await,
        C::Export(a) => containers::export(c, a).await,
        C::Cp(a) => containers::cp(c, a).await,
        C::Port(a) => ports::port(c, a).await,
        C::Prune(a) => containers::prune(c, a).await,
        C::Commit(a) => persist::commit(c, a).await,
        C::Upgrade(a) => persist::upgrade(c, a).await,
    };
    r.unwrap_or_else(|e| report(&e))
}

async fn dispatch_image(c: &client::Client, cmd: ImageCommand) -> i32 {
    use ImageCommand as C;
    let r: anyhow::Result<i32> = match cmd {
        C::Ls(a) => images::images(c, a).await,
        C::Load(a) => images::load(c, a).await,
        C::Save(a) => images::save(c, a).await,
        C::Import(a) => images::import(c, a).await,
        C::Tag(a) => images::tag(c, a).await,
        C::Rm(a) => images::rmi(c, a).await,
        C::History(a) => images::history(c, a).await,
        C::Inspect(a) => images::inspect(c, a).await,
        C::Prune(a) => images::prune(c, a).await,
    };
    r.unwrap_or_else(|e| report(&e))
}

async fn dispatch_network(c: &client::Client, cmd: NetworkCommand) -> i32 {
    use NetworkCommand as C;
    let r: anyhow::Result<i32> = match cmd {
        C::Connect(a) => network::connect(c, a).await,
        C::Create(a) => network::create(c, a).await,
        C::Disconnect(a) => network::disconnect(c, a).await,
        C::Inspect(a) => network::inspect(c, a).await,
        C::Ls(a) => network::ls(c, a).await,
        C::Prune(a) => network::prune(c, a).await,
        C::Rm(a) => network::rm(c, a).await,
    };
    r.unwrap_or_else(|e| report(&e))
}

async fn dispatch_volume(c: &client::Client, cmd: VolumeCommand) -> i32 {
    use VolumeCommand as C;
    let r: anyhow::Result<i32> = match cmd {
        C::Create(a) => volume::create(c, a).await,
        C::Inspect(a) => volume::inspect(c, a).await,
        C::Ls(a) => volume::ls(c, a).await,
        C::Prune(a) => volume::prune(c, a).await,
        C::Rm(a) => volume::rm(c, a).await,
    };
    r.unwrap_or_else(|e| report(&e))
}
