#!/usr/bin/env python3
"""Writes the Grafana dashboards of ibpath-agent (dashboards/*.json).

The JSON files are committed; edit this script and run it to change them:

    /usr/bin/python3 dashboards/build_dashboards.py          # rewrite
    /usr/bin/python3 dashboards/build_dashboards.py --check  # exit 1 if stale

test/rules/check_queries.py checks that every PromQL expression in the JSON
names only metrics the agent exports (or recording rules of alerts/) and
parses; --check runs in CTest too, so the JSON never drifts from this script.

Both dashboards take the Prometheus data source as the variable `datasource`,
the scrape job as `job` and the node as `instance`. Standard library only.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DS = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'job=~"$job",instance=~"$instance"'


class Layout:
    """Places panels left to right on Grafana's 24-column grid."""

    def __init__(self):
        self.panels, self.x, self.y, self.row_h, self.next_id = [], 0, 0, 0, 1

    def add(self, panel, w, h):
        if self.x + w > 24:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        panel["id"] = self.next_id
        self.next_id += 1
        panel["gridPos"] = {"x": self.x, "y": self.y, "w": w, "h": h}
        self.x += w
        self.row_h = max(self.row_h, h)
        self.panels.append(panel)

    def row(self, title):
        if self.x:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        self.add({"type": "row", "title": title, "collapsed": False, "panels": []}, 24, 1)
        self.x, self.y, self.row_h = 0, self.y + 1, 0


def target(expr, legend="", ref="A", table=False):
    t = {"datasource": DS, "expr": expr, "refId": ref, "legendFormat": legend or "__auto"}
    if table:
        t.update({"format": "table", "instant": True, "range": False})
    else:
        t.update({"range": True})
    return t


def refs(targets):
    for i, t in enumerate(targets):
        t["refId"] = chr(ord("A") + i)
    return targets


def timeseries(title, targets, unit="short", description=""):
    return {
        "type": "timeseries", "title": title, "description": description, "datasource": DS,
        "targets": refs(targets),
        "fieldConfig": {"defaults": {"unit": unit, "custom": {"fillOpacity": 10, "showPoints": "never"}},
                        "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]},
                    "tooltip": {"mode": "multi", "sort": "desc"}},
    }


def stat(title, expr, unit="short", thresholds=None, description=""):
    steps = thresholds or [{"color": "green", "value": None}]
    return {
        "type": "stat", "title": title, "description": description, "datasource": DS,
        "targets": [target(expr)],
        "fieldConfig": {"defaults": {"unit": unit, "thresholds": {"mode": "absolute", "steps": steps}},
                        "overrides": []},
        "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                    "colorMode": "background", "graphMode": "area", "textMode": "auto"},
    }


def table(title, exprs, hide=(), description=""):
    """Instant queries merged into one table on their common labels; each query's
    value column is titled by the query's legend (the first element of a pair)."""
    targets = refs([target(e, legend=name, table=True) for name, e in exprs])
    exclude = {"Time": True, "__name__": True, "job": True}
    exclude.update({h: True for h in hide})
    rename = {"Value #%s" % t["refId"]: t["legendFormat"] for t in targets}
    return {
        "type": "table", "title": title, "description": description, "datasource": DS,
        "targets": targets,
        "transformations": [
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {"excludeByName": exclude, "renameByName": rename}},
        ],
        "fieldConfig": {"defaults": {}, "overrides": []},
        "options": {"showHeader": True, "cellHeight": "sm"},
    }


def variables(instance_multi):
    def query_var(name, label, query, multi):
        v = {"type": "query", "name": name, "label": label, "datasource": DS,
             "definition": query, "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
             "refresh": 2, "sort": 1, "hide": 0, "multi": multi, "includeAll": multi,
             "current": {}, "options": [], "regex": ""}
        if multi:
            v["allValue"] = ".*"
        return v
    return {"list": [
        {"type": "datasource", "name": "datasource", "label": "Data source", "query": "prometheus",
         "hide": 0, "current": {}, "options": [], "refresh": 1, "regex": ""},
        query_var("job", "Job", "label_values(ibpath_build_info, job)", False),
        query_var("instance", "Node", 'label_values(ibpath_build_info{job=~"$job"}, instance)', instance_multi),
    ]}


def dashboard(uid, title, description, layout, instance_multi, links):
    return {
        "uid": uid, "title": title, "description": description, "tags": ["ibpath", "alluxio", "infiniband"],
        "schemaVersion": 39, "version": 1, "editable": True, "graphTooltip": 1,
        "time": {"from": "now-6h", "to": "now"}, "refresh": "30s", "timezone": "",
        "templating": variables(instance_multi), "annotations": {"list": []},
        "links": links, "panels": layout.panels,
    }


RED_IF_ABOVE_0 = [{"color": "green", "value": None}, {"color": "red", "value": 1}]


def cluster_overview():
    l = Layout()
    l.row("Where Alluxio's bytes go")
    l.add(stat("Nodes reporting", "count(ibpath_build_info{%s})" % SEL), 4, 4)
    l.add(stat("Nodes with fallback",
               "count(ibpath_alluxio_fallback_connections{%s} > 0 or ibpath:alluxio_fallback_bytes:rate5m{%s} > 0)"
               " or vector(0)" % (SEL, SEL), thresholds=RED_IF_ABOVE_0,
               description="Nodes with Alluxio data-path connections or bytes on a device that is not an "
                           "expected data device."), 4, 4)
    l.add(stat("Fallback share of data-path bytes",
               'ibpath:alluxio_fallback_bytes:cluster_ratio_rate5m{job=~"$job"}', unit="percentunit",
               thresholds=[{"color": "green", "value": None}, {"color": "red", "value": 0.001}]), 4, 4)
    l.add(stat("Probes on a data device",
               "count(ibpath_probe_on_data_device{%s} == 1) or vector(0)" % SEL,
               description="Nodes whose last data-path probe read its bytes over an expected data device."), 4, 4)
    l.add(stat("Probes failing", "count(ibpath_probe_success{%s} == 0) or vector(0)" % SEL,
               thresholds=RED_IF_ABOVE_0), 4, 4)
    l.add(stat("Firing ibpath alerts",
               'count(ALERTS{alertstate="firing",alertname=~"Ibpath.*",job=~"$job"}) or vector(0)',
               thresholds=RED_IF_ABOVE_0), 4, 4)
    l.add(timeseries("Alluxio bytes/s by node and device", [
        target('sum by (instance, device, direction) (rate(ibpath_alluxio_bytes_total{%s}[$__rate_interval]))' % SEL,
               "{{instance}} {{device}} {{direction}}")], unit="Bps",
        description="Bytes of Alluxio connections by the device their egress really takes."), 12, 9)
    l.add(timeseries("Alluxio bytes/s by transport per node", [
        target("sum by (instance, transport) (ibpath:alluxio_bytes:rate5m_by_transport{%s})" % SEL,
               "{{instance}} {{transport}}")], unit="Bps",
        description="infiniband = IPoIB (or a bond of IPoIB); ethernet is the fallback."), 12, 9)
    l.add(timeseries("Cluster: fabric vs Ethernet", [
        target('sum by (transport) (ibpath:alluxio_bytes:cluster_rate5m_by_transport{job=~"$job"})',
               "{{transport}}")], unit="Bps"), 8, 8)
    l.add(timeseries("Fallback bytes/s per node", [
        target("ibpath:alluxio_fallback_bytes:rate5m{%s}" % SEL, "{{instance}}")], unit="Bps"), 8, 8)
    l.add(timeseries("Fallback connections per node", [
        target("ibpath_alluxio_fallback_connections{%s}" % SEL, "{{instance}}")]), 8, 8)
    l.row("Data-path probe")
    l.add(timeseries("Probe throughput", [
        target("ibpath_probe_throughput_bytes_per_second{%s}" % SEL, "{{instance}}"),
        target("ibpath:probe_throughput_bytes_per_second:median1d{%s}"
               " * on () group_left () ibpath:probe_throughput_baseline_fraction" % SEL,
               "{{instance}} alert threshold")], unit="Bps",
        description="Throughput of each node's last probe read, and the level below which "
                    "IbpathProbeThroughputLow fires (a fraction of its median over a day)."), 12, 9)
    l.add(table("Probe verdicts", [
        ("success", "ibpath_probe_success{%s}" % SEL),
        ("on data device", "ibpath_probe_on_data_device{%s}" % SEL),
        ("device", "ibpath_probe_device_info{%s}" % SEL),
        ("HTTP status", "ibpath_probe_http_status_code{%s}" % SEL),
        ("seconds since last run", "time() - ibpath_probe_last_run_timestamp_seconds{%s}" % SEL),
    ], hide=("Value #C",)), 12, 9)
    l.add(timeseries("Probe phases", [
        target("ibpath_probe_duration_seconds{%s}" % SEL, "{{instance}} {{phase}}")], unit="s"), 12, 8)
    l.add(table("Probe failures", [
        ("failing", "ibpath_probe_failure_info{%s}" % SEL)],
        description="Why the last probe failed, per node (empty when every probe succeeds)."), 12, 8)
    l.row("Alerts")
    l.add(table("Firing alerts by node", [
        ("firing", 'count by (instance, alertname, severity) (ALERTS{alertstate="firing",%s})' % SEL
         + ' or label_replace(count by (instance) (ibpath_build_info{%s}) * 0, "alertname", "none", "", "")'
         % SEL + ' unless on (instance) ALERTS{alertstate="firing",%s}' % SEL)],
        description="Every node; alertname none = no alert firing on it."), 24, 8)
    return dashboard("ibpath-cluster", "ibpath: cluster overview",
                     "Does the Alluxio cluster's data travel over InfiniBand? Bytes by device and transport, "
                     "fallback to Ethernet, probe verdicts and alerts, per node.", l, True,
                     [{"type": "link", "title": "Node detail", "url": "/d/ibpath-node?${job:queryparam}&${instance:queryparam}",
                       "targetBlank": False, "icon": "dashboard"}])


def node_detail():
    l = Layout()
    l.row("Alluxio data path")
    l.add(table("Expected data devices", [
        ("expected", "ibpath_datapath_expected_device{%s}" % SEL),
        ("present", "ibpath_datapath_expected_device_present{%s}" % SEL)], hide=("instance",)), 8, 6)
    l.add(table("Listeners", [("listening", "ibpath_alluxio_listener_info{%s}" % SEL)],
                hide=("instance", "listening")), 8, 6)
    l.add(table("Advertised addresses", [("resolved", "ibpath_alluxio_advertised_address_info{%s}" % SEL)],
                hide=("instance", "resolved")), 8, 6)
    l.add(timeseries("Connections by role and device", [
        target("sum by (role, side, device) (ibpath_alluxio_connections{%s})" % SEL,
               "{{role}} {{side}} {{device}}")]), 8, 8)
    l.add(timeseries("Alluxio bytes/s by role and device", [
        target("sum by (role, device, direction) (rate(ibpath_alluxio_bytes_total{%s}[$__rate_interval]))" % SEL,
               "{{role}} {{device}} {{direction}}")], unit="Bps"), 8, 8)
    l.add(timeseries("Fallback", [
        target("ibpath_alluxio_fallback_connections{%s}" % SEL, "connections"),
        target("sum by (direction) (rate(ibpath_alluxio_fallback_bytes_total{%s}[$__rate_interval]))" % SEL,
               "bytes/s {{direction}}")]), 8, 8)
    l.row("Interfaces")
    l.add(table("Interfaces", [
        ("info", "ibpath_netdev_info{%s}" % SEL),
        ("MTU", "ibpath_netdev_mtu_bytes{%s}" % SEL)], hide=("instance", "info")), 12, 8)
    l.add(timeseries("Interface bytes/s", [
        target("rate(ibpath_netdev_receive_bytes_total{%s}[$__rate_interval])" % SEL, "{{device}} receive"),
        target("rate(ibpath_netdev_transmit_bytes_total{%s}[$__rate_interval])" % SEL, "{{device}} transmit")],
        unit="Bps"), 12, 8)
    l.add(timeseries("Interface errors and drops/s", [
        target("rate(ibpath_netdev_receive_errors_total{%s}[$__rate_interval])" % SEL, "{{device}} rx errors"),
        target("rate(ibpath_netdev_transmit_errors_total{%s}[$__rate_interval])" % SEL, "{{device}} tx errors"),
        target("rate(ibpath_netdev_receive_dropped_total{%s}[$__rate_interval])" % SEL, "{{device}} rx dropped"),
        target("rate(ibpath_netdev_transmit_dropped_total{%s}[$__rate_interval])" % SEL, "{{device}} tx dropped")]),
        24, 7)
    l.row("IPoIB and HCA ports")
    l.add(table("IPoIB mode and MTU", [
        ("mode", "ibpath_ipoib_mode{%s}" % SEL),
        ("info", "ibpath_ipoib_info{%s}" % SEL),
        ("MTU", "ibpath_netdev_mtu_bytes{%s} and on (job, instance, device) ibpath_ipoib_mode{%s}" % (SEL, SEL)),
        ("mode max MTU", "ibpath_ipoib_mtu_max_bytes{%s}" % SEL),
        ("below expected", "ibpath_ipoib_mtu_below_expected{%s}" % SEL)],
        hide=("instance", "mode", "info"),
        description="Datagram mode caps the MTU at 2044 (correct on cloud IB); connected mode allows 65520, "
                    "9000 is the usual setting."), 12, 7)
    l.add(table("HCA ports", [
        ("info", "ibpath_ib_port_info{%s}" % SEL),
        ("active", "ibpath_ib_port_active{%s}" % SEL),
        ("rate", "ibpath_ib_port_rate_bytes_per_second{%s}" % SEL)], hide=("instance", "info")), 12, 7)
    l.add(table("HCAs", [("info", "ibpath_ib_ca_info{%s}" % SEL)], hide=("instance", "info")), 8, 6)
    l.add(timeseries("HCA port bytes/s", [
        target("rate(ibpath_ib_port_receive_bytes_total{%s}[$__rate_interval])" % SEL, "{{ca}}/{{port}} receive"),
        target("rate(ibpath_ib_port_transmit_bytes_total{%s}[$__rate_interval])" % SEL, "{{ca}}/{{port}} transmit")],
        unit="Bps"), 16, 6)
    errs = ["symbol_errors", "link_error_recoveries", "link_downed", "receive_errors", "transmit_discards",
            "local_link_integrity_errors", "excessive_buffer_overrun_errors"]
    l.add(timeseries("HCA port error counters (increase per interval)", [
        target("increase(ibpath_ib_port_%s_total{%s}[$__rate_interval])" % (e, SEL), "{{ca}}/{{port}} %s" % e)
        for e in errs]), 24, 8)
    l.row("Bonds, drivers, agent")
    l.add(table("Bonds", [
        ("slaves", "ibpath_bond_slaves{%s}" % SEL),
        ("active slaves", "ibpath_bond_active_slaves{%s}" % SEL)], hide=("instance",)), 8, 6)
    l.add(table("Kernel modules", [("loaded", "ibpath_kernel_module_loaded{%s}" % SEL)], hide=("instance",)), 8, 6)
    l.add(table("Collectors", [
        ("success", "ibpath_collector_success{%s}" % SEL),
        ("seconds", "ibpath_collector_duration_seconds{%s}" % SEL)], hide=("instance",)), 8, 6)
    return dashboard("ibpath-node", "ibpath: node detail",
                     "One node: expected data devices, listeners, connections and bytes by device, interfaces, "
                     "IPoIB mode and MTU, HCA ports and counters, bonds, drivers.", l, False,
                     [{"type": "link", "title": "Cluster overview", "url": "/d/ibpath-cluster?${job:queryparam}",
                       "targetBlank": False, "icon": "dashboard"}])


DASHBOARDS = {
    "ibpath-cluster-overview.json": cluster_overview,
    "ibpath-node-detail.json": node_detail,
}


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for name, build in DASHBOARDS.items():
        text = json.dumps(build(), indent=2, sort_keys=True) + "\n"
        path = os.path.join(HERE, name)
        if check:
            try:
                with open(path) as f:
                    if f.read() != text:
                        stale.append(name)
            except FileNotFoundError:
                stale.append(name)
        else:
            with open(path, "w") as f:
                f.write(text)
            print("wrote", path)
    if stale:
        print("FAIL: out of date with dashboards/build_dashboards.py: %s "
              "(run /usr/bin/python3 dashboards/build_dashboards.py)" % ", ".join(stale))
        return 1
    if check:
        print("dashboards up to date: %s" % ", ".join(DASHBOARDS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
