//! End-to-end tests: templates rendered against docker-like data.
//!
//! `GO_CASES` holds expectations produced by Go 1.24.3's `text/template` (through the
//! docker 28.2.2 client, executing each template against `DATA` decoded into a
//! `map[string]interface{}`), so they are Go's actual output and error messages. The
//! few entries where berth departs from Go on purpose are marked `deviation`.

use serde_json::{Value, json};

use crate::{MissingKey, TabWriter, Template, TemplateError};

const DATA: &str = r#"{"ID":"4c01db0b339c","Names":"web","Image":"nginx:latest","Command":"\"nginx -g 'daemon off;'\"","State":{"Status":"running","Running":true,"Pid":4242,"ExitCode":0,"Health":null},"Config":{"Labels":{"com.example.vendor":"ACME","version":"1.0","empty":""},"Env":["PATH=/usr/bin","A=b"],"Cmd":["nginx","-g","daemon off;"]},"Args":["-g","daemon off;"],"Mounts":[{"Source":"/data","Destination":"/var/lib/data","RW":true},{"Source":"/logs","Destination":"/var/log","RW":false}],"NetworkSettings":{"Networks":{"bridge":{"IPAddress":"172.17.0.2","Gateway":"172.17.0.1"},"my-net":{"IPAddress":"10.0.0.5","Gateway":"10.0.0.1"}},"Ports":{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"}],"443/tcp":null}},"Size":1.5,"Ratio":0.25,"Count":3,"Empty":[],"Html":"<b>&</b>","Tags":["a","b","c"],"Unicode":"héllo wörld ß"}"#;

fn data() -> Value {
    serde_json::from_str(DATA).expect("DATA is valid JSON")
}

/// Renders `text` as a plain Go template; errors come back as `ERR <message>`.
fn run(text: &str, data: &Value) -> String {
    match Template::parse_plain(text).and_then(|t| t.render(data)) {
        Ok(out) => out,
        Err(e) => format!("ERR {e}"),
    }
}

#[rustfmt::skip]
const GO_CASES: &[(&str, &str)] = &[
    (r#"{{.ID}}: {{.Command}}"#, r#"4c01db0b339c: "nginx -g 'daemon off;'""#),
    (r#"{{.Names}}|{{.Image}}"#, r#"web|nginx:latest"#),
    (r#"{{.Config}}"#, r#"map[Cmd:[nginx -g daemon off;] Env:[PATH=/usr/bin A=b] Labels:map[com.example.vendor:ACME empty: version:1.0]]"#),
    (r#"{{.State.Status}} {{.State.Running}} {{.State.Pid}} {{.State.ExitCode}}"#, r#"running true 4242 0"#),
    (r#"{{.NetworkSettings.Networks.bridge.IPAddress}}"#, r#"172.17.0.2"#),
    (r#"{{.Missing}}|{{.State.Missing}}|{{.Missing.Deeper}}|{{.State.Health}}"#, r#"<no value>|<no value>|<no value>|<no value>"#),
    (r#"{{json .Config.Labels}}"#, r#"{"com.example.vendor":"ACME","empty":"","version":"1.0"}"#),
    (r#"{{json .}}"#, r#"{"Args":["-g","daemon off;"],"Command":"\"nginx -g 'daemon off;'\"","Config":{"Cmd":["nginx","-g","daemon off;"],"Env":["PATH=/usr/bin","A=b"],"Labels":{"com.example.vendor":"ACME","empty":"","version":"1.0"}},"Count":3,"Empty":[],"Html":"<b>&</b>","ID":"4c01db0b339c","Image":"nginx:latest","Mounts":[{"Destination":"/var/lib/data","RW":true,"Source":"/data"},{"Destination":"/var/log","RW":false,"Source":"/logs"}],"Names":"web","NetworkSettings":{"Networks":{"bridge":{"Gateway":"172.17.0.1","IPAddress":"172.17.0.2"},"my-net":{"Gateway":"10.0.0.1","IPAddress":"10.0.0.5"}},"Ports":{"443/tcp":null,"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"}]}},"Ratio":0.25,"Size":1.5,"State":{"ExitCode":0,"Health":null,"Pid":4242,"Running":true,"Status":"running"},"Tags":["a","b","c"],"Unicode":"héllo wörld ß"}"#),
    (r#"{{json .Html}}|{{json .Missing}}|{{json .State.Health}}|{{json .Empty}}|{{json .Unicode}}"#, r#""<b>&</b>"|null|null|[]|"héllo wörld ß""#),
    (r#"{{json "a\u2028b<>&\x01\b\f"}}"#, r#""a\u2028b<>&\u0001\b\f""#),
    (r#"{{range .Mounts}}{{.Source}}{{end}}"#, r#"/data/logs"#),
    (r#"{{range .Mounts}}{{.Source}}:{{.Destination}}:{{.RW}} {{end}}"#, r#"/data:/var/lib/data:true /logs:/var/log:false "#),
    (r#"{{index .Config.Labels "com.example.vendor"}}|{{index .Args 0}}|{{index .Config.Labels "nope"}}|{{index .NetworkSettings.Networks "my-net" "IPAddress"}}"#, r#"ACME|-g|<no value>|10.0.0.5"#),
    (r#"{{if eq .State.Status "running"}}up{{else}}down{{end}}"#, r#"up"#),
    (r#"{{printf "%-10s|" .Names}}"#, r#"web       |"#),
    (r#"{{upper .Names}} {{lower .Image}} {{title .Unicode}} {{upper .Unicode}}"#, r#"WEB nginx:latest Héllo Wörld ß HÉLLO WÖRLD ß"#),
    (r#"{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}"#, r#"com.example.vendor=ACME;empty=;version=1.0;"#),
    (r#"a  {{- .Names -}}  b"#, r#"awebb"#),
    (r#"x {{- " y " -}} z {{- /* c */ -}}	w"#, r#"x y zw"#),
    (r#"{{range $i, $m := .Mounts}}{{$i}}={{$m.Source}} {{end}}"#, r#"0=/data 1=/logs "#),
    (r#"{{range .Empty}}x{{else}}none{{end}}|{{range .Missing}}x{{else}}none{{end}}|{{range .Config.Labels}}{{.}},{{end}}"#, r#"none|none|ACME,,1.0,"#),
    (r#"{{with .State}}{{.Status}}{{end}}|{{with .Missing}}x{{else}}no{{end}}|{{with $s := .State.Status}}{{$s}}{{end}}"#, r#"running|no|running"#),
    (r#"{{if and .State.Running .Names}}ok{{end}}|{{or .Missing "default"}}|{{and 1 0 2}}|{{or 0 "" "x"}}|{{not .State.Running}}|{{and .Names .Missing}}"#, r#"ok|default|0|x|false|<no value>"#),
    (r#"{{len .Mounts}} {{len .Names}} {{len .Config.Labels}} {{len "héllo"}} {{index "abc" 1}}"#, r#"2 3 3 6 98"#),
    (r#"{{slice .Names 1}} {{slice .Tags 1 2}} {{slice .Tags}} {{slice .Unicode 0 2}}"#, r#"eb [b] [a b c] h�"#),
    (r#"{{print .Names 1 2 "x"}}|{{println .Names .Size}}|{{printf "%s=%v" "k" .Tags}}"#, r#"web1 2x|web 1.5
|k=[a b c]"#),
    (r#"{{.Tags}} {{.Mounts}} {{.Empty}} {{.NetworkSettings.Ports}}"#, r#"[a b c] [map[Destination:/var/lib/data RW:true Source:/data] map[Destination:/var/log RW:false Source:/logs]] [] map[443/tcp:<nil> 80/tcp:[map[HostIp:0.0.0.0 HostPort:8080]]]"#),
    (r#"{{$x := .Names}}{{$x}}{{$x = "other"}}{{$x}}"#, r#"webother"#),
    (r#"{{(index .Mounts 1).Source}}|{{(.State).Status}}|{{printf "%s" (index .Tags 1)}}"#, r#"/logs|running|b"#),
    (r#"{{split .Image ":"}}|{{index (split .Image ":") 1}}|{{split "" ","}}|{{len (split "a,b,,c" ",")}}|{{split "héj" ""}}"#, r#"[nginx latest]|latest|[]|4|[h é j]"#),
    (r#"{{pad .Names 2 3}}|{{pad "" 2 3}}|{{truncate .ID 5}}|{{truncate .ID 50}}"#, r#"  web   ||4c01d|4c01db0b339c"#),
    (r#"{{.Size}} {{.Ratio}} {{1.5}} {{1e3}} {{1e21}} {{0x10}} {{-7}} {{'a'}} {{true}} {{2.0}} {{0.000001}}"#, r#"1.5 0.25 1.5 1000 1e+21 16 -7 97 true 2 1e-06"#),
    (r#"{{printf "%.2f %5.1f %e %g %v" .Size .Ratio .Size .Ratio 1e7}}"#, r#"1.50   0.2 1.500000e+00 0.25 1e+07"#),
    (r#"{{html .Html}} {{js .Command}} {{urlquery .Command}} {{html .Missing}} {{html 1 "a" 2}}"#, r#"&lt;b&gt;&amp;&lt;/b&gt; \"nginx -g \'daemon off;\'\" %22nginx+-g+%27daemon+off%3B%27%22 &lt;no value&gt; 1a2"#),
    (r#"{{printf "%q" .Command}}|{{printf "%v %T" .Args .Args}}|{{printf "%#v" .Tags}}|{{printf "%x" .Names}}"#, r#""\"nginx -g 'daemon off;'\""|[-g daemon off;] []interface {}|[]interface {}{"a", "b", "c"}|776562"#),
    (r#"a{{/* c */}}b{{- /* c */ -}} c"#, r#"abc"#),
    (r#"{{range .Tags}}{{if eq . "b"}}{{continue}}{{end}}{{.}}{{end}}|{{range .Tags}}{{if eq . "b"}}{{break}}{{end}}{{.}}{{end}}"#, r#"ac|a"#),
    (r#"{{range 3}}{{.}}{{end}}|{{range $i := 2}}{{$i}}{{end}}|{{range 0}}x{{else}}empty{{end}}"#, r#"012|01|empty"#),
    (r#"{{if eq .Names "x"}}a{{else if eq .Names "web"}}b{{else}}c{{end}}|{{with .Missing}}a{{else with .Names}}{{.}}{{end}}"#, r#"b|web"#),
    (r#"{{.Names | printf "%s!" | upper}}|{{.Names | printf "%s-%s" "x"}}|{{"a" | printf "%s%s" "b" | len}}"#, r#"WEB!|x-web|2"#),
    (r#"{{"a\tb\u00e9"}}|{{`raw\n`}}|{{print nil}}|{{printf "%v" .Missing}}"#, r#"a	bé|raw\n|<nil>|<nil>"#),
    (r#"{{printf "%d %5d|%-5d|%05d|%x|%X|%o|%b|%c|%U" 42 42 42 -42 255 255 8 5 9731 9731}}"#, r#"42    42|42   |-0042|ff|FF|10|101|☃|U+2603"#),
    (r#"{{eq .Names "a" "b" "web"}} {{ne .Names "web"}} {{lt "a" "b"}} {{ge 2 1}} {{le 1.5 2.5}} {{gt .Size .Ratio}} {{eq .Missing nil}} {{eq .State.Health nil}} {{eq .Names nil}}"#, r#"true false true true true true true true false"#),
    (r#"{{range $i, $t := .Tags}}{{if $i}},{{end}}{{$t}}{{end}}"#, r#"a,b,c"#),
    (r#"{{with $x := .State}}{{$x.Status}}{{end}}|{{range $k, $v := .NetworkSettings.Networks}}{{$k}}:{{$v.IPAddress}} {{end}}"#, r#"running|bridge:172.17.0.2 my-net:10.0.0.5 "#),
    (r#"{{if .Config.Labels.empty}}y{{else}}n{{end}}{{if .Empty}}y{{else}}n{{end}}{{if .State.ExitCode}}y{{else}}n{{end}}{{if .Size}}y{{else}}n{{end}}"#, r#"nnny"#),
    (r#"{{$a := 1}}{{range .Tags}}{{$a = .}}{{end}}{{$a}}"#, r#"c"#),
    (r#"{{index .NetworkSettings.Ports "80/tcp" 0 "HostPort"}}|{{index .NetworkSettings.Ports "443/tcp"}}"#, r#"8080|<no value>"#),
    (r#"{{index .Args 5}}"#, r#"ERR template: :1:2: executing "" at <index .Args 5>: error calling index: index out of range: 5"#),
    (r#"{{.State.Health.Status}}"#, r#"ERR template: :1:8: executing "" at <.State.Health.Status>: nil pointer evaluating interface {}.Status"#),
    (r#"{{upper .Missing}}"#, r#"ERR template: :1:8: executing "" at <.Missing>: invalid value; expected string"#),
    (r#"{{upper .State.Health}}"#, r#"ERR template: :1:14: executing "" at <.State.Health>: wrong type for value; expected string; got interface {}"#),
    (r#"{{len .Missing}}"#, r#"ERR template: :1:2: executing "" at <len .Missing>: error calling len: reflect: call of reflect.Value.Type on zero Value"#),
    (r#"{{len .State.Health}}"#, r#"ERR template: :1:2: executing "" at <len .State.Health>: error calling len: len of nil pointer"#),
    (r#"{{len 3}}"#, r#"ERR template: :1:2: executing "" at <len 3>: error calling len: len of type int"#),
    (r#"{{nil}}"#, r#"ERR template: :1:2: executing "" at <nil>: nil is not a command"#),
    (r#"{{template "x"}}"#, r#"ERR template: :1:11: executing "" at <{{template "x"}}>: template "x" not defined"#),
    (r#"{{range .Names}}{{end}}"#, r#"ERR template: :1:8: executing "" at <.Names>: range can't iterate over web"#),
    (r#"{{range .Size}}{{end}}"#, r#"ERR template: :1:8: executing "" at <.Size>: range can't iterate over 1.5"#),
    (r#"{{.Names 1}}"#, r#"ERR template: :1:2: executing "" at <.Names>: Names is not a method but has arguments"#),
    (r#"{{1 2}}"#, r#"ERR template: :1:2: executing "" at <1>: can't give argument to non-function 1"#),
    (r#"{{eq .Tags .Tags}}"#, r#"ERR template: :1:2: executing "" at <eq .Tags .Tags>: error calling eq: non-comparable type [a b c]: []interface {}"#),
    (r#"{{eq .Tags .Config}}"#, r#"ERR template: :1:2: executing "" at <eq .Tags .Config>: error calling eq: non-comparable types [a b c]: []interface {}, map[string]interface {}: map[Cmd:[nginx -g daemon off;] Env:[PATH=/usr/bin A=b] Labels:map[com.example.vendor:ACME empty: version:1.0]]"#),
    (r#"{{eq .Names 1}}"#, r#"ERR template: :1:2: executing "" at <eq .Names 1>: error calling eq: incompatible types for comparison"#),
    (r#"{{lt .Names 1}}"#, r#"ERR template: :1:2: executing "" at <lt .Names 1>: error calling lt: incompatible types for comparison"#),
    (r#"{{lt .Tags 1}}"#, r#"ERR template: :1:2: executing "" at <lt .Tags 1>: error calling lt: invalid type for comparison"#),
    (r#"{{printf}}"#, r#"ERR template: :1:2: executing "" at <printf>: wrong number of args for printf: want at least 1 got 0"#),
    (r#"{{or}}"#, r#"ERR template: :1:2: executing "" at <or>: wrong number of args for or: want at least 1 got 0"#),
    (r#"{{upper}}"#, r#"ERR template: :1:2: executing "" at <upper>: wrong number of args for upper: want 1 got 0"#),
    (r#"{{upper "a" "b"}}"#, r#"ERR template: :1:2: executing "" at <upper>: wrong number of args for upper: want 1 got 2"#),
    (r#"{{slice .Names 3 1}}"#, r#"ERR template: :1:2: executing "" at <slice .Names 3 1>: error calling slice: invalid slice index: 3 > 1"#),
    (r#"{{index .Config.Labels 1}}"#, r#"ERR template: :1:2: executing "" at <index .Config.Labels 1>: error calling index: value has type int; should be string"#),
    (r#"{{index .Missing 1}}"#, r#"ERR template: :1:2: executing "" at <index .Missing 1>: error calling index: index of untyped nil"#),
    (r#"{{truncate .Names -1}}"#, r#"ERR template: :1:2: executing "" at <truncate .Names -1>: error calling truncate: runtime error: slice bounds out of range [:-1]"#),
    (r#"{{pad .Names -1 0}}"#, r#"ERR template: :1:2: executing "" at <pad .Names -1 0>: error calling pad: strings: negative Repeat count"#),
    (r#"{{upper 1}}"#, r#"ERR template: :1:8: executing "" at <1>: expected string; found 1"#),
    (r#"{{truncate "abc" "x"}}"#, r#"ERR template: :1:17: executing "" at <"x">: expected integer; found "x""#),
    (r#"{{truncate "abc" 1.5}}"#, r#"ERR template: :1:17: executing "" at <1.5>: expected integer; found 1.5"#),
    (r#"{{upper nil}}"#, r#"ERR template: :1:8: executing "" at <nil>: cannot assign nil to string"#),
    (r#"{{printf 1}}"#, r#"ERR template: :1:9: executing "" at <1>: expected string; found 1"#),
    (r#"{{(nil).X}}"#, r#"ERR template: :1:3: executing "" at <nil>: nil is not a command"#),
    // deviation: Go names the static type of a map element, `interface {}`.
    (r#"a
  {{.Tags.X}}"#, r#"ERR template: :2:9: executing "" at <.Tags.X>: can't evaluate field X in type []interface {}"#),
    (r#"{{range $i, $v := 3}}{{end}}"#, r#"ERR template: :1:18: executing "" at <3>: can't use 3 to iterate over more than one variable"#),
    (r#"{{"x" | not 1 2}}"#, r#"ERR template: :1:8: executing "" at <not>: wrong number of args for not: want 1 got 3"#),
    (r#"{{index . "ID" 0 1}}"#, r#"ERR template: :1:2: executing "" at <index . "ID" 0 1>: error calling index: can't index item of type int"#), // deviation: Go's byte is uint8
    (r#"{{call .Names}}"#, r#"ERR template: :1:2: executing "" at <call .Names>: error calling call: non-function .Names of type string"#),
    (r#"{{with $x := .Missing}}a{{else}}[{{$x}}]{{end}}"#, r#"[<no value>]"#),
    (r#"{{23 -}} < {{- 45}}|{{- 3 -}}|"#, r#"23<45|3|"#),
    (r#"{{printf "%v" (slice .Tags 1)}}|{{.State | printf "%v"}}"#, r#"[b c]|map[ExitCode:0 Health:<nil> Pid:4242 Running:true Status:running]"#),
    (r#"{{index .Mounts 0 "Source"}}|{{len (index .Mounts 0)}}|{{json (index .Mounts 0)}}"#, r#"/data|3|{"Destination":"/var/lib/data","RW":true,"Source":"/data"}"#),
    (r#"{{printf "%s" .Mounts}}"#, r#"[map[Destination:/var/lib/data RW:%!s(bool=true) Source:/data] map[Destination:/var/log RW:%!s(bool=false) Source:/logs]]"#),
    (r#"{{range .Tags}}{{.}}{{else}}none{{end}}|{{if not .Missing}}yes{{end}}"#, r#"abc|yes"#),
    (r#"{{$x := 1}}{{if true}}{{$x := 2}}{{$x}}{{end}}{{$x}}|{{if $y := .Names}}{{$y}}{{end}}"#, r#"21|web"#),
    (r#"{{print 1.0 2}}|{{println}}|{{printf "%%|%5%|%-5%|"}}|{{urlquery "a" 1}}|{{"\U0001F433"}}"#, r#"1 2|
|%|%|%||a1|🐳"#),
    (r#"{{.Names | len | printf "%d"}}|{{$t := .Tags}}{{index $t 1}}{{len $t}}|{{.Config.Labels.version}}"#, r#"3|b3|1.0"#),
    (r#"{{range $k, $v := .Missing}}x{{else}}e{{end}}|{{printf "%-8v|%8v|" .Names .State.Running}}"#, r#"e|web     |    true|"#),
    (r#"{{(index .Config.Labels "version") | printf "%q"}}|{{or .Missing .Names}}|{{and .Names .Image}}"#, r#""1.0"|web|nginx:latest"#),
    (r#"{{.Size | printf "%v %.3v %8.3e %08.3f %+.1f % .1f"}}"#, r#"1.5 %!v(MISSING) %!e(MISSING) %!f(MISSING) %!f(MISSING) %!f(MISSING)"#),
    (r#"{{index .Args -1}}"#, r#"ERR template: :1:2: executing "" at <index .Args -1>: error calling index: index out of range: -1"#),
    (r#"{{range $i, $c := "abc"}}{{end}}"#, r#"ERR template: :1:18: executing "" at <"abc">: range can't iterate over abc"#),
    (r#"{{-.Names}}"#, r#"ERR template: :1: bad number syntax: "-.N""#),
    (r#"{{.Names -}}"#, r#"web"#),
    (r#"{{printf "%d %s" 1 "a" "extra" 2.5 nil true}}"#, r#"1 a%!(EXTRA string=extra, float64=2.5, <nil>, bool=true)"#),
    (r#"{{printf "%[2]s %[1]s %s" "a" "b"}}|{{printf "%[5]d" 1}}|{{printf "%.[2]d" 1 2}}|{{printf "%*d" "x" 5}}"#, r#"b a b|%!d(BADINDEX)|2|%!(BADWIDTH)5"#),
    (r#"{{printf "%c|%q|%U|%#U|%x|%X|%#o|%b|%08b" 128512 10 128512 97 -255 3054 8 -5 5}}"#, r#"😀|'\n'|U+1F600|U+0061 'a'|-ff|BEE|010|-101|00000101"#),
    (r#"{{printf "%t %v %s" true false true}}|{{printf "%5.2s|%-6q|%.0d|%.0d" "abc" "x" 0 7}}"#, r#"true false %!s(bool=true)|   ab|"x"   ||7"#),
    (r#"{{printf "%e %E %.0e %g %G %.2g %.10g" 123456.789 0.000123 5.5 1e-7 1e100 99.5 1.0}}"#, r#"1.234568e+05 1.230000E-04 6e+00 1e-07 1E+100 1e+02 1"#),
    (r#"{{printf "%v %v %v %v %v" 100000.0 1000000.0 0.0001 0.00001 -0.0}}"#, r#"100000 1e+06 0.0001 1e-05 -0"#),
    (r#"{{printf "%6.2f|%-8.3f|%+.0f|%x" 2.5 -0.5 2.5 "é"}}"#, r#"  2.50|-0.500  |+2|c3a9"#),
    (r#"{{print "a" 1 "b" 2 3 "c" nil nil .Missing}}"#, r#"a1b2 3c<nil> <nil> <nil>"#),
    (r#"{{html "<\"'&>\x00"}}|{{js "é\u2028<x>=`"}}|{{urlquery "a b/c?d=é~_.-"}}"#, r#"&lt;&#34;&#39;&amp;&gt;�|é\u2028\u003Cx\u003E\u003D`|a+b%2Fc%3Fd%3D%C3%A9~_.-"#),
    // deviation: Go refuses to compare int with float64
    (r#"{{if eq 1 1.0}}eq{{end}}"#, r#"eq"#),
    (r#"{{printf "%v|%s|%d" .Empty .Empty .Empty}}|{{printf "%v" .Config.Labels}}"#, r#"[]|[]|[]|map[com.example.vendor:ACME empty: version:1.0]"#),
    (r#"{{range $i, $e := .Empty}}x{{else}}empty{{end}}|{{with .Empty}}x{{else}}no{{end}}|{{with .Count}}{{.}}{{end}}"#, r#"empty|no|3"#),
    (r#"{{break}}"#, r#"ERR template: :1: {{break}} outside {{range}}"#),
    (r#"{{range .Tags}}{{break 1}}{{end}}"#, r#"ERR template: :1: unexpected "1" in {{break}}"#),
    (r#"{{index .NetworkSettings.Networks.bridge "IPAddress" "x"}}"#, r#"ERR template: :1:2: executing "" at <index .NetworkSettings.Networks.bridge "IPAddress" "x">: error calling index: cannot index slice/array with type string"#),
    (r#"{{index 1 2}}"#, r#"ERR template: :1:2: executing "" at <index 1 2>: error calling index: can't index item of type int"#),
    // deviation: JSON integers are Go ints here
    (r#"{{len .Count}}"#, r#"ERR template: :1:2: executing "" at <len .Count>: error calling len: len of type int"#),
    (r#"{{slice .Tags 1 2 3}}|{{slice .Tags 0 1 2 3}}"#, r#"ERR template: :1:24: executing "" at <slice .Tags 0 1 2 3>: error calling slice: too many slice indexes: 4"#),
    (r#"{{not}}"#, r#"ERR template: :1:2: executing "" at <not>: wrong number of args for not: want 1 got 0"#),
    (r#"{{eq}}"#, r#"ERR template: :1:2: executing "" at <eq>: wrong number of args for eq: want at least 1 got 0"#),
    (r#"{{ne 1}}"#, r#"ERR template: :1:2: executing "" at <ne>: wrong number of args for ne: want 2 got 1"#),
    (r#"{{and}}"#, r#"ERR template: :1:2: executing "" at <and>: wrong number of args for and: want at least 1 got 0"#),
    // deviation: Go names the static type of a map element
    (r#"{{.Names.Foo.Bar}}"#, r#"ERR template: :1:8: executing "" at <.Names.Foo.Bar>: can't evaluate field Foo in type string"#),
    (r#"{{(.Names).X}}"#, r#"ERR template: :1:3: executing "" at <.Names>: can't evaluate field X in type string"#),
    (r#"{{json}}"#, r#"ERR template: :1:2: executing "" at <json>: wrong number of args for json: want 1 got 0"#),
    (r#"{{split .Names}}"#, r#"ERR template: :1:2: executing "" at <split>: wrong number of args for split: want 2 got 1"#),
    (r#"{{title 1}}"#, r#"ERR template: :1:8: executing "" at <1>: expected string; found 1"#),
    (r#"{{pad "a" "b" 1}}"#, r#"ERR template: :1:10: executing "" at <"b">: expected integer; found "b""#),
    (r#"{{slice "héllo" 1 3}}|{{ .Names }}|{{	.Image	}}"#, r#"é|web|nginx:latest"#),
];

#[test]
fn matches_go_text_template() {
    let data = data();
    let failures: Vec<String> = GO_CASES
        .iter()
        .filter_map(|(text, want)| {
            let got = run(text, &data);
            (got != *want).then(|| format!("template {text:?}\n   want {want:?}\n    got {got:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn doc_examples() {
    let t = Template::parse("{{.Name}}: {{if eq .State \"running\"}}up{{else}}down{{end}}");
    let out = t.and_then(|t| t.render(&json!({"Name": "web", "State": "running"})));
    assert_eq!(out, Ok("web: up".to_string()));

    let mut tw = TabWriter::new(Default::default());
    tw.write_str("CONTAINER ID\tIMAGE\tNAMES\n");
    tw.write_str("4c01db0b339c\tubuntu\tweb\n");
    assert_eq!(tw.finish(), "CONTAINER ID   IMAGE     NAMES\n4c01db0b339c   ubuntu    web\n");
}

#[test]
fn dollar_is_the_root_everywhere() {
    let d = data();
    assert_eq!(run("{{range .Mounts}}{{$.Names}}:{{.Source}} {{end}}", &d), "web:/data web:/logs ");
    assert_eq!(
        run("{{range $m := .Mounts}}{{range $.Tags}}{{$m.Source}}{{.}} {{end}}{{end}}", &d),
        "/dataa /datab /datac /logsa /logsb /logsc "
    );
    assert_eq!(run("{{with .State}}{{$.ID}}/{{.Status}}{{end}}", &d), "4c01db0b339c/running");
}

#[test]
fn defined_templates() {
    // Go: `[t1]<t1>[<no value>]` for the same template over a context named t1.
    let t =
        "{{define \"T\"}}[{{.}}]{{end}}{{template \"T\" .Names}}{{block \"B\" .Names}}<{{.}}>{{end}}{{template \"T\"}}";
    assert_eq!(run(t, &data()), "[web]<web>[<no value>]");
    // Errors inside a defined template name it, but locate it in the parsed text.
    assert_eq!(
        run("{{define \"R\"}}{{template \"R\" .}}{{end}}{{template \"R\" .}}", &data()),
        "ERR template: :1:25: executing \"R\" at <{{template \"R\" .}}>: exceeded maximum template depth (300)"
    );
    assert_eq!(run("{{define \"V\"}}{{$}}{{end}}{{template \"V\" 3}}", &data()), "3");
}

// docker formats lists from typed Go structs, so integers are ints and string lists are
// []string; these cases follow that rather than Go over a decoded JSON map.
#[test]
fn typed_struct_behaviour() {
    let d = data();
    assert_eq!(run("{{join .Args \",\"}}|{{join .Missing \",\"}}", &d), "-g,daemon off;|");
    assert_eq!(
        run("{{join .Mounts \",\"}}", &d),
        "ERR template: :1:7: executing \"\" at <.Mounts>: wrong type for value; expected []string; got []interface {}"
    );
    assert_eq!(run("{{printf \"%d|%5d|%x\" .State.Pid .Count .Count}}", &d), "4242|    3|3");
    assert_eq!(run("{{if and .State.Running (eq .State.ExitCode 0)}}ok{{end}}", &d), "ok");
    assert_eq!(run("{{eq .Size 1.5}} {{lt .Count 3.5}} {{eq .Count 3.0}}", &d), "true true true");
    let big = json!({"Size": 1234567, "Float": 1234567.0, "Huge": u64::MAX});
    assert_eq!(
        run("{{.Size}} {{.Float}} {{.Huge}} {{json .}}", &big),
        "1234567 1.234567e+06 18446744073709551615 {\"Float\":1234567,\"Huge\":18446744073709551615,\"Size\":1234567}"
    );
}

#[test]
fn docker_docs_examples() {
    let d = data();
    let cases = [
        ("{{.ID}}: {{.Command}}", "4c01db0b339c: \"nginx -g 'daemon off;'\""),
        ("{{json .Config.Labels}}", r#"{"com.example.vendor":"ACME","empty":"","version":"1.0"}"#),
        ("{{range .Mounts}}{{.Source}}{{end}}", "/data/logs"),
        ("{{index .Config.Labels \"com.example.vendor\"}}", "ACME"),
        ("{{.State.Running}}", "true"),
        ("{{printf \"%-10s|\" .Names}}", "web       |"),
        ("{{upper .Names}}", "WEB"),
        ("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}", "com.example.vendor=ACME;empty=;version=1.0;"),
        (
            "{{range $p, $conf := .NetworkSettings.Ports}}{{$p}} -> {{(index $conf 0).HostPort}}{{end}}",
            "ERR template: :1:58: executing \"\" at <index $conf 0>: error calling index: index of untyped nil",
        ),
        ("{{.NetworkSettings.Networks.bridge.IPAddress}}", "172.17.0.2"),
        ("{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", "172.17.0.2 10.0.0.5 "),
    ];
    for (text, want) in cases {
        assert_eq!(run(text, &d), want, "{text}");
    }
}

#[test]
fn whitespace_trimming_across_lines() {
    let t = "{{- range .Tags }}\n  - {{ . }}\n{{- end }}\n";
    assert_eq!(run(t, &data()), "\n  - a\n  - b\n  - c\n");
    assert_eq!(run("{{ .Names -}}\n\n\t {{- .Image }}", &data()), "webnginx:latest");
}

#[test]
fn missing_key_error_mode() {
    let render = |text: &str| {
        Template::parse_plain(text)
            .map(|t| t.with_missing_key(MissingKey::Error))
            .and_then(|t| t.render(&data()))
            .unwrap_or_else(|e| format!("ERR {e}"))
    };
    assert_eq!(render("{{.Names}}"), "web");
    assert_eq!(
        render("{{.State.Nope}}"),
        "ERR template: :1:8: executing \"\" at <.State.Nope>: map has no entry for key \"Nope\""
    );
    assert_eq!(
        render("{{$x := .Nope}}"),
        "ERR template: :1:8: executing \"\" at <.Nope>: map has no entry for key \"Nope\""
    );
    // index is not affected by missingkey.
    assert_eq!(render("{{index .Config.Labels \"nope\"}}"), "<no value>");
}

#[test]
fn error_display_and_fields() {
    let err = Template::parse_plain("{{foo}}").err();
    assert_eq!(err.as_ref().map(ToString::to_string).as_deref(), Some("template: :1: function \"foo\" not defined"));
    let err =
        Template::parse_named("version", "x\n{{.Client.Nope.X}}").and_then(|t| t.render(&json!({"Client": "c"}))).err();
    assert_eq!(
        err,
        Some(TemplateError::Exec {
            name: "version".into(),
            template: "version".into(),
            line: 2,
            column: 9,
            context: ".Client.Nope.X".into(),
            message: "can't evaluate field Nope in type string".into(),
        })
    );
    assert_eq!(
        run("{{.Foo}}", &json!("str")),
        "ERR template: :1:2: executing \"\" at <.Foo>: can't evaluate field Foo in type string"
    );
    assert_eq!(run("{{.X}}", &Value::Null), "<no value>");
}

#[test]
fn docker_format_conventions() {
    let t = Template::parse("table {{.ID}}\\t{{.Image}}").expect("parses");
    assert!(t.is_table());
    assert_eq!(t.text(), "{{.ID}}\t{{.Image}}");
    let t = Template::parse("  {{.ID}}\\n").expect("parses");
    assert!(!t.is_table());
    assert_eq!(t.text(), "{{.ID}}\n");
    let t = Template::parse("json").expect("parses");
    assert!(t.is_json());
    assert_eq!(t.render(&json!({"b": 1, "a": "<"})), Ok(r#"{"a":"<","b":1}"#.to_string()));
    let t = Template::parse("table").expect("parses");
    assert!(t.is_table() && t.text().is_empty());
    let t = Template::parse_plain("table {{.ID}}\\t").expect("parses");
    assert!(!t.is_table());
    assert_eq!(t.render(&json!({"ID": "x"})), Ok("table x\\t".to_string()));
}

fn ps_header() -> Value {
    json!({
        "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "RunningFor": "CREATED",
        "Status": "STATUS", "Ports": "PORTS", "Names": "NAMES", "Labels": "LABELS",
    })
}

const PS_TABLE: &str =
    "table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}\\t{{.Status}}\\t{{.Ports}}\\t{{.Names}}";

#[test]
fn docker_ps_table() {
    let t = Template::parse(PS_TABLE).expect("parses");
    let empty: [Value; 0] = [];
    assert_eq!(
        t.render_rows(&ps_header(), &empty),
        Ok("CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n".to_string())
    );
    let rows = [
        json!({"ID": "4c01db0b339c", "Image": "ubuntu:24.04", "Command": "\"bash\"", "RunningFor": "2 hours ago",
               "Status": "Up 2 hours", "Ports": "0.0.0.0:8080->80/tcp", "Names": "web"}),
        json!({"ID": "d7886598dbe2", "Image": "redis", "Command": "\"docker-entrypoint.s…\"", "RunningFor": "3 days ago",
               "Status": "Exited (0) 3 days ago", "Ports": "", "Names": "cache"}),
    ];
    assert_eq!(
        t.render_rows(&ps_header(), &rows),
        Ok("CONTAINER ID   IMAGE          COMMAND                  CREATED       STATUS                  PORTS                  NAMES\n\
            4c01db0b339c   ubuntu:24.04   \"bash\"                   2 hours ago   Up 2 hours              0.0.0.0:8080->80/tcp   web\n\
            d7886598dbe2   redis          \"docker-entrypoint.s…\"   3 days ago    Exited (0) 3 days ago                          cache\n"
            .to_string())
    );
}

#[test]
fn table_headers_keep_titles() {
    let t = Template::parse(
        "table {{.ID}}\\t{{upper .Names | printf \"%s!\"}}\\t{{join .Labels \",\"}}\\t{{pad .Image 1 1}}",
    )
    .expect("parses");
    assert_eq!(t.render_header(&ps_header()), Ok("CONTAINER ID\tNAMES!\tLABELS\t IMAGE ".to_string()));
    // A header that fails keeps what it rendered, as docker's does.
    let t = Template::parse("table {{.ID}}\\t{{index .Labels \"x\"}}\\t{{.Names}}").expect("parses");
    assert_eq!(
        t.render_rows(&ps_header(), &[json!({"ID": "abc", "Labels": {"x": "1"}, "Names": "n"})]),
        Ok("CONTAINER ID   \nabc            1         n\n".to_string())
    );
}

#[test]
fn non_table_rows_are_newline_terminated() {
    let t = Template::parse("{{.ID}}: {{.Names}}").expect("parses");
    let rows = [json!({"ID": "a", "Names": "x"}), json!({"ID": "b", "Names": "y"})];
    assert_eq!(t.render_rows(&json!({}), &rows), Ok("a: x\nb: y\n".to_string()));
    let bad = Template::parse("{{.ID.X}}").expect("parses");
    assert!(bad.render_rows(&json!({}), &rows).is_err());
}

/// Output of `docker context ls --format 'table {{.Name}}\t{{.Description}}\t{{.DockerEndpoint}}'`
/// (docker 28.2.2) for contexts with emoji and CJK descriptions.
#[test]
fn tabwriter_matches_docker_with_wide_characters() {
    let mut tw = TabWriter::default();
    tw.write_str("NAME\tDESCRIPTION\tDOCKER ENDPOINT\ndefault\tCurrent DOCKER_HOST based configuration\tunix:///var/run/docker.sock\ne-w\tcafé 🐳 x\tunix:///tmp/z.sock\njp\t日本語の説明 ok\tunix:///tmp/y.sock\nt1\t\tunix:///tmp/x.sock\n");
    assert_eq!(
        tw.finish(),
        "NAME      DESCRIPTION                               DOCKER ENDPOINT\ndefault   Current DOCKER_HOST based configuration   unix:///var/run/docker.sock\ne-w       café 🐳 x                                 unix:///tmp/z.sock\njp        日本語の説明 ok                           unix:///tmp/y.sock\nt1                                                  unix:///tmp/x.sock\n"
    );
}

/// The deepest native recursion a template can cause: templates recursing through
/// nested `if`s up to the execution depth limit, then a 100-deep parenthesised
/// expression at depth 298. It must fail cleanly, not overflow, on a default 2 MiB test
/// thread in a debug build.
#[test]
fn worst_case_nesting_does_not_overflow_the_stack() {
    let ifs = |n: usize, inner: &str| format!("{}{inner}{}", "{{if 1}}".repeat(n), "{{end}}".repeat(n));
    let parens = |n: usize| format!("{{{{{}1{}}}}}", "(".repeat(n), ")".repeat(n));
    let text = format!(
        "{{{{define \"P\"}}}}{}{{{{end}}}}{{{{define \"R\"}}}}{}{{{{end}}}}{{{{template \"R\" .}}}}",
        parens(100),
        ifs(98, "{{template \"P\" .}}{{template \"R\" .}}")
    );
    let got = run(&text, &json!({}));
    assert!(got.ends_with("exceeded maximum template depth (300)"), "{got}");
    assert_eq!(run(&parens(100), &json!({})), "1");
    assert_eq!(run(&parens(101), &json!({})), "ERR template: :1: max expression depth exceeded");
    assert_eq!(run(&ifs(100, "x"), &json!({})), "x");
}

/// Property test without dependencies: random concatenations of template fragments
/// (valid or not) must parse and render to a result, never panic.
#[test]
fn random_templates_never_panic() {
    const PIECES: &[&str] = &[
        "{{",
        "}}",
        "{{-",
        "-}}",
        " ",
        ".",
        ".Names",
        ".State",
        ".Tags",
        ".Mounts",
        "$",
        "$x",
        ":=",
        "=",
        "|",
        "(",
        ")",
        "\"s\"",
        "`r`",
        "'c'",
        "1",
        "-2",
        "1.5",
        "0x1F",
        "1e3",
        "nil",
        "true",
        "if",
        "else",
        "end",
        "range",
        "with",
        "break",
        "continue",
        "define",
        "template",
        "block",
        "\"T\"",
        "index",
        "len",
        "slice",
        "printf",
        "\"%d%s%v%5.2f%q%x%!\"",
        "print",
        "println",
        "eq",
        "lt",
        "and",
        "or",
        "not",
        "json",
        "split",
        "join",
        "upper",
        "title",
        "pad",
        "truncate",
        "html",
        "js",
        "urlquery",
        "call",
        "/*",
        "*/",
        ",",
        "é",
        "日",
        "\n",
        "\t",
        "\\",
        "\"",
        "{{range $i, $v := .}}",
        "{{end}}",
        "{{if .}}",
        "{{else}}",
    ];
    let d = data();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        usize::try_from(state % n as u64).unwrap_or(0)
    };
    for _ in 0..3000 {
        let len = 1 + next(12);
        let text: String = (0..len).map(|_| PIECES[next(PIECES.len())]).collect();
        for t in [Template::parse_plain(&text), Template::parse(&text)].into_iter().flatten() {
            let _ = t.render(&d);
            let _ = t.render_header(&d);
            let _ = t.clone().with_missing_key(MissingKey::Error).render(&d);
        }
    }
}
