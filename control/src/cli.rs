//! vxctl's command line, built from [`COMMANDS`]: the parser, `--help` and
//! `vxctl help` all come from the one declaration, and a parsed command
//! becomes a [`Request`] through the same JSON the switch reads.

use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::{ArgKind, CommandSpec, Mac, Request, COMMANDS, MSS_MAX, MSS_MIN, VNI_MAX, WEIGHT_MAX};

/// The clap value parser for one kind of argument.
fn value_parser(kind: ArgKind) -> clap::builder::ValueParser {
    match kind {
        ArgKind::Vni => clap::builder::ValueParser::new(|s: &str| -> Result<u32, String> {
            match s.parse::<u32>() {
                Ok(n) if (1..=VNI_MAX).contains(&n) => Ok(n),
                _ => Err(format!("{s:?} is not a VNI (1-{VNI_MAX})")),
            }
        }),
        ArgKind::Weight => clap::builder::ValueParser::new(|s: &str| -> Result<u32, String> {
            match s.parse::<u32>() {
                Ok(n) if (1..=WEIGHT_MAX).contains(&n) => Ok(n),
                _ => Err(format!("{s:?} is not a weight (1-{WEIGHT_MAX})")),
            }
        }),
        ArgKind::MssClamp => clap::builder::ValueParser::new(|s: &str| -> Result<String, String> {
            match s {
                "auto" | "off" => Ok(s.to_string()),
                _ => match s.parse::<u16>() {
                    Ok(n) if (MSS_MIN..=MSS_MAX).contains(&n) => Ok(s.to_string()),
                    _ => Err(format!(
                        "{s:?} is not auto, off or an MSS ({MSS_MIN}-{MSS_MAX})"
                    )),
                },
            }
        }),
        ArgKind::Ipv4 => clap::value_parser!(std::net::Ipv4Addr).into(),
        ArgKind::Mac => clap::builder::ValueParser::new(|s: &str| s.parse::<Mac>()),
        ArgKind::Toggle => clap::builder::PossibleValuesParser::new(["on", "off"]).into(),
        ArgKind::Name | ArgKind::Path => clap::builder::NonEmptyStringValueParser::new().into(),
    }
}

/// The subcommand tree for every declared command, nested by words
/// (`vni add`, `vni del`, ... under `vni`).
pub fn commands() -> Vec<Command> {
    let mut top: Vec<Command> = Vec::new();
    for spec in COMMANDS {
        let leaf = leaf(spec);
        match spec.words {
            [_] => top.push(leaf),
            [group, _] => {
                let i = match top.iter().position(|c| c.get_name() == *group) {
                    Some(i) => i,
                    None => {
                        top.push(
                            Command::new(*group)
                                .about(format!("{group} commands"))
                                .subcommand_required(true)
                                .arg_required_else_help(true),
                        );
                        top.len() - 1
                    }
                };
                let g = top.remove(i);
                top.insert(i, g.subcommand(leaf));
            }
            _ => unreachable!("commands have one or two words"),
        }
    }
    top
}

fn leaf(spec: &CommandSpec) -> Command {
    let name = *spec.words.last().expect("a command has a word");
    let mut c = Command::new(name).about(spec.help);
    for a in spec.args {
        let mut arg = Arg::new(a.key)
            .value_name(a.value)
            .help(a.help)
            .required(a.required)
            .value_parser(value_parser(a.kind));
        if let Some(flag) = a.flag {
            arg = arg.long(flag.trim_start_matches("--"));
        }
        arg = if a.multiple {
            arg.action(ArgAction::Append).num_args(1..)
        } else {
            arg.action(ArgAction::Set)
        };
        c = c.arg(arg);
    }
    c
}

/// The spec a parsed subcommand names, and its own matches.
pub fn find(m: &ArgMatches) -> Option<(&'static CommandSpec, &ArgMatches)> {
    let (first, sub) = m.subcommand()?;
    let (words, leaf): (Vec<&str>, &ArgMatches) = match sub.subcommand() {
        Some((second, leaf)) => (vec![first, second], leaf),
        None => (vec![first], sub),
    };
    COMMANDS
        .iter()
        .find(|c| c.words == words.as_slice())
        .map(|c| (c, leaf))
}

/// Turns a parsed command into its request, through the JSON the switch reads.
pub fn request(spec: &CommandSpec, m: &ArgMatches) -> Result<Request, String> {
    let mut obj = serde_json::Map::new();
    obj.insert("cmd".into(), spec.cmd.into());
    for a in spec.args {
        let one = |m: &ArgMatches| -> Option<Vec<serde_json::Value>> {
            let v: Vec<serde_json::Value> = match a.kind {
                ArgKind::Vni | ArgKind::Weight => m
                    .get_many::<u32>(a.key)?
                    .map(|n| serde_json::Value::from(*n))
                    .collect(),
                ArgKind::Ipv4 => m
                    .get_many::<std::net::Ipv4Addr>(a.key)?
                    .map(|ip| serde_json::Value::from(ip.to_string()))
                    .collect(),
                ArgKind::Mac => m
                    .get_many::<Mac>(a.key)?
                    .map(|mac| serde_json::Value::from(mac.to_string()))
                    .collect(),
                ArgKind::Toggle | ArgKind::Name | ArgKind::MssClamp => m
                    .get_many::<String>(a.key)?
                    .map(|s| serde_json::Value::from(s.as_str()))
                    .collect(),
                // The switch runs elsewhere: a path is sent absolute, as
                // the operator meant it from here.
                ArgKind::Path => m
                    .get_many::<String>(a.key)?
                    .map(|s| {
                        let p = std::path::absolute(s).unwrap_or_else(|_| s.into());
                        serde_json::Value::from(p.to_string_lossy().into_owned())
                    })
                    .collect(),
            };
            Some(v)
        };
        if let Some(mut vals) = one(m) {
            let v = if a.multiple {
                serde_json::Value::Array(vals)
            } else {
                vals.remove(0)
            };
            obj.insert(a.key.into(), v);
        }
    }
    serde_json::from_value(serde_json::Value::Object(obj)).map_err(|e| e.to_string())
}

/// `vxctl help`: every command's usage and help line.
pub fn help_text() -> String {
    let w = COMMANDS.iter().map(|c| c.usage().len()).max().unwrap_or(0);
    let mut s = String::from("Commands:\n");
    for c in COMMANDS {
        s.push_str(&format!("  {:<w$}  {}\n", c.usage(), c.help));
    }
    s.push_str("  help\n\nRun `vxctl COMMAND --help` for a command's arguments.\n");
    s
}

/// The README's command table (Markdown), generated from [`COMMANDS`]; a
/// test checks that the README holds exactly this.
pub fn markdown_table() -> String {
    let mut s = String::from("| Command | What it does |\n| --- | --- |\n");
    for c in COMMANDS {
        s.push_str(&format!("| `vxctl {}` | {} |\n", c.usage(), c.help));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli() -> Command {
        Command::new("vxctl")
            .subcommands(commands())
            .subcommand_required(true)
    }

    /// A valid value for each kind of argument.
    fn sample(kind: ArgKind) -> &'static str {
        match kind {
            ArgKind::Vni => "100",
            ArgKind::Name => "c100",
            ArgKind::Ipv4 => "198.18.0.2",
            ArgKind::Mac => "02:00:00:00:01:0a",
            ArgKind::Toggle => "off",
            ArgKind::Weight => "3",
            ArgKind::MssClamp => "1400",
            ArgKind::Path => "/tmp/x.toml",
        }
    }

    /// Every declared command parses with every argument given, and becomes
    /// the request of the same name, with the same values: parser, client and
    /// the switch's dispatch (an exhaustive match on `Request`) agree.
    #[test]
    fn every_command_parses_into_its_request() {
        for spec in COMMANDS {
            let mut argv: Vec<String> = vec!["vxctl".into()];
            argv.extend(spec.words.iter().map(|w| w.to_string()));
            for a in spec.args {
                if let Some(f) = a.flag {
                    argv.push(f.into());
                }
                argv.push(sample(a.kind).into());
                if a.multiple {
                    argv.push("198.18.0.3".into());
                }
            }
            let m = cli()
                .try_get_matches_from(&argv)
                .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
            let (found, leaf) = find(&m).expect("the parsed command is declared");
            assert_eq!(found.cmd, spec.cmd);
            let req = request(found, leaf).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
            assert_eq!(req.cmd(), spec.cmd);
            let json = serde_json::to_value(&req).unwrap();
            for a in spec.args {
                let v = &json[a.key];
                assert!(!v.is_null(), "{}: {} lost on the way", spec.cmd, a.key);
            }
            // What the switch reads back is what was sent.
            let back: Request = serde_json::from_value(json).unwrap();
            assert_eq!(back, req);
        }
    }

    /// Every request the switch accepts is a declared command: the wire
    /// names serde knows are exactly those of COMMANDS.
    #[test]
    fn no_request_without_a_command() {
        let e = serde_json::from_str::<Request>(r#"{"cmd":"?"}"#)
            .unwrap_err()
            .to_string();
        for c in COMMANDS {
            assert!(e.contains(&format!("`{}`", c.cmd)), "{e}");
        }
        assert_eq!(e.matches('`').count(), 2 * (COMMANDS.len() + 1), "{e}");
    }

    #[test]
    fn required_arguments_are_required() {
        for argv in [
            &["vxctl", "port", "add", "c1"][..],
            &["vxctl", "tunnel", "add", "--vni", "100"],
            &["vxctl", "vni", "add"],
            &["vxctl", "vni", "add", "0"],
            &["vxctl", "vni", "add", "16777216"],
            &[
                "vxctl",
                "fdb",
                "add",
                "--vni",
                "1",
                "--mac",
                "01:00:5e:00:00:01",
            ],
            &["vxctl", "vni", "set", "1", "--learning", "maybe"],
        ] {
            assert!(cli().try_get_matches_from(argv).is_err(), "{argv:?}");
        }
    }

    #[test]
    fn usage_lines() {
        let u: Vec<String> = COMMANDS.iter().map(|c| c.usage()).collect();
        assert!(u.contains(&"vni add ID [--flood-remote IP...]".to_string()));
        assert!(u.contains(&"port add IF --vni ID".to_string()));
        assert!(u.contains(&"tunnel list [--vni ID]".to_string()));
    }

    /// The README's command reference is the generated table, verbatim.
    #[test]
    fn readme_command_table_matches() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
            .expect("README.md at the workspace root");
        let begin = "<!-- vxctl-commands:begin -->\n";
        let end = "<!-- vxctl-commands:end -->";
        let start = readme.find(begin).expect("README has the begin marker") + begin.len();
        let stop = readme.find(end).expect("README has the end marker");
        assert_eq!(
            &readme[start..stop],
            markdown_table(),
            "README's vxctl table is stale: paste `vxctl help --markdown` between the markers"
        );
    }
}
