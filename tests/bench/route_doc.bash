# tests/bench/route_doc.bash — the apply document the control-plane benchmarks load: doc N VIA.

# doc N VIA: VPC 100 with N /24 routes via VIA (two appliance NICs exist, on remote hosts).
doc() {
	python3 - "$1" "$2" <<'PY'
import sys
n, via = int(sys.argv[1]), sys.argv[2]
out = sys.stdout
out.write('{"version":1,"vpcs":[{"vni":100}],"subnets":[{"cidr":"10.0.0.0/24","vpc":100}],'
          '"nics":[{"ip":"10.0.0.5","vpc":100,"mac":"02:00:00:00:00:05","remote":"192.168.1.2"},'
          '{"ip":"10.0.0.6","vpc":100,"mac":"02:00:00:00:00:06","remote":"192.168.1.3"}],"routes":[')
out.write(",".join('{"prefix":"%d.%d.%d.0/24","vpc":100,"via":"%s"}' % (11 + (i >> 16), (i >> 8) & 255, i & 255, via)
                   for i in range(n)))
out.write("]}\n")
PY
}
