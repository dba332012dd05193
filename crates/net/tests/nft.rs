//! berth's table in the real nftables (root): interface names that would break or rewrite a
//! ruleset written in nft's text syntax stay plain data in the JSON berth hands to `nft`.

use std::process::Command;

use net::firewall::{BridgeRules, Ruleset};

/// Deletes the table when the test ends, also when it fails.
struct Table(String);

impl Drop for Table {
    fn drop(&mut self) {
        let _ = net::firewall::delete_table(&self.0);
    }
}

fn nft_json(args: &[&str]) -> serde_json::Value {
    let o = Command::new("nft").arg("-j").args(args).output().expect("running nft");
    assert!(o.status.success(), "nft {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("nft's JSON")
}

/// The tables of the host but this test's (other tests' and daemons' come and go meanwhile,
/// so only the names of the tables that existed before are compared).
fn tables() -> Vec<String> {
    let v = nft_json(&["list", "tables"]);
    v["nftables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| Some(format!("{} {}", o["table"]["family"].as_str()?, o["table"]["name"].as_str()?)))
        .collect()
}

#[test]
fn hostile_interface_names_are_matched_as_names_and_change_nothing_else() {
    assert!(nix::unistd::Uid::effective().is_root(), "this test writes an nftables table and must run as root");
    let table = Table(format!("bt_nft_{}", std::process::id()));
    // Each fits the kernel's 15 bytes, as a name in nft's iifname must.
    let names = ["x\"}", "a\";flush", "}\n;", "$x", "a b", "\\", "include \"/e", "x\" drop #"];
    let rules = Ruleset {
        bridges: names
            .iter()
            .enumerate()
            .map(|(i, n)| BridgeRules {
                ifname: (*n).to_owned(),
                subnet: format!("10.99.{i}.0/24").parse().unwrap(),
                gateway: format!("10.99.{i}.1").parse().unwrap(),
                internal: i % 2 == 0,
            })
            .collect(),
        ports: vec![],
    };
    let before = tables();
    rules.apply(&table.0).expect("nft takes the table");
    // Applied twice: replaced whole, nothing doubled.
    rules.apply(&table.0).expect("nft takes the table again");
    let listed = nft_json(&["list", "table", "ip", &table.0]);
    let input: Vec<&serde_json::Value> =
        listed["nftables"].as_array().expect("a list").iter().filter(|o| o["rule"]["chain"] == "input").collect();
    assert_eq!(input.len(), names.len(), "{listed:#}");
    for (rule, n) in input.iter().zip(names) {
        let expr = &rule["rule"]["expr"];
        assert_eq!(expr[0]["match"]["left"]["meta"]["key"], "iifname");
        assert_eq!(expr[0]["match"]["right"], n, "{expr:#}");
        assert_eq!(expr[3], serde_json::json!({"drop": null}), "{expr:#}");
    }
    let chains: Vec<&str> =
        listed["nftables"].as_array().unwrap().iter().filter_map(|o| o["chain"]["name"].as_str()).collect();
    assert_eq!(chains, ["publish", "prerouting", "output", "postrouting", "forward", "input"]);
    // No other table went or came.
    let after = tables();
    for t in &before {
        assert!(after.contains(t), "table {t} went away");
    }
    // The guard alone rewrites the input chain and keeps the rest.
    let one = Ruleset { bridges: rules.bridges[..1].to_vec(), ports: vec![] };
    one.apply_guard(&table.0).expect("the guard");
    let listed = nft_json(&["list", "table", "ip", &table.0]);
    let all = listed["nftables"].as_array().unwrap();
    assert_eq!(all.iter().filter(|o| o["rule"]["chain"] == "input").count(), 1);
    assert!(all.iter().filter(|o| o["rule"]["chain"] == "forward").count() > 1, "{listed:#}");
    net::firewall::delete_table(&table.0).expect("deleting the table");
    assert!(!tables().contains(&format!("ip {}", table.0)));
}
