"""A loopback stand-in for the Kubernetes API: the batch/v1 Job and core/v1 Pod calls that
dagster-k8s's k8s_job_executor (and our step watchdog) make.

It behaves like a one-node cluster without containers: a created Job is validated against the
Kubernetes OpenAPI schema (422 otherwise, as the API server would), gets a Pod, and the Pod's
container command runs as a local process with the container's environment. Volumes are
"mounted" only when the registered host directory is the mount path itself (no containers, no
remapping), so a wrong claim or path leaves the pod stuck in ContainerCreating as it would on a
cluster. Images not in the registry leave the pod in ImagePullBackOff. Status, logs, backoffLimit
and activeDeadlineSeconds follow Kubernetes semantics closely enough for the executor.

Fault injection, per op (the `dagster/op` label), first Job only: "evict" kills the running
process and reports the pod Evicted; "no_pod" creates the Job but never its pod (as over a
ResourceQuota); env overrides make the real command fail on its own. As in a namespace with a
compute ResourceQuota, a pod without cpu and memory requests is refused (the Job gets no pod).
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import string
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import kubernetes_validate

K8S_VERSION = kubernetes_validate.latest_version()
_JOBS = re.compile(r"^/apis/batch/v1/namespaces/([^/]+)/jobs(?:/([^/]+))?(/status)?$")
_PODS = re.compile(r"^/api/v1/namespaces/([^/]+)/pods(?:/([^/]+))?(/log)?$")
_FIELD_LABEL = re.compile(r"^metadata\.labels\['([^']+)'\]$")


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class PodRun:
    """One pod: its object as the API returns it, and the local process standing in for it."""

    obj: dict
    job_name: str
    namespace: str
    log_path: Path
    proc: subprocess.Popen | None = None
    forced: tuple[str, str, int] | None = None  # (pod reason, message, exit code) when killed


@dataclass
class FakeCluster:
    """State of the stand-in cluster; the HTTP handler and pod supervisors share it."""

    workdir: Path
    images: set[str]
    mounts: dict[tuple[str, str], str]  # ("pvc"|"configMap", name) -> host dir
    image_env: dict[str, str]
    faults: dict[str, str] = field(default_factory=dict)
    env_overrides: dict[str, dict[str, str]] = field(default_factory=dict)
    jobs: dict[tuple[str, str], dict] = field(default_factory=dict)
    pods: dict[tuple[str, str], PodRun] = field(default_factory=dict)
    created_jobs: list[dict] = field(default_factory=list)  # every accepted Job, as received
    rejected: list[tuple[dict, str]] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)
    timeline: list[tuple[str, str, float]] = field(default_factory=list)  # (job, event, time)
    quota_rejections: list[str] = field(default_factory=list)  # jobs whose pod was refused
    unhandled: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _faulted: set[str] = field(default_factory=set)

    # --- jobs -----------------------------------------------------------------------------
    def create_job(self, ns: str, body: dict) -> tuple[int, dict]:
        try:
            kubernetes_validate.validate(body, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            self.rejected.append((body, str(e)))
            return 422, status_obj(422, "Invalid", f"Job is invalid: {e.message}")
        name = body["metadata"]["name"]
        with self.lock:
            if (ns, name) in self.jobs:
                return 409, status_obj(409, "AlreadyExists", f'jobs.batch "{name}" already exists')
            job = json.loads(json.dumps(body))
            meta = job["metadata"]
            meta.update(namespace=ns, uid=str(uuid.uuid4()), creationTimestamp=now_iso())
            meta.setdefault("resourceVersion", "1")
            job["spec"].setdefault("backoffLimit", 6)
            job["status"] = {"active": 1, "startTime": now_iso(), "ready": 0}
            job["_started"] = time.monotonic()
            job["_pod_failures"] = 0
            self.jobs[(ns, name)] = job
            self.created_jobs.append(body)
            self.timeline.append((name, "created", time.time()))
            op = job["metadata"].get("labels", {}).get("dagster/op", "")
            if not _has_requests(job["spec"]["template"]["spec"]["containers"][0]):
                # The namespace has a compute ResourceQuota: the Job controller's pod create is
                # rejected ("must specify requests.cpu, requests.memory"), so no pod appears.
                self.quota_rejections.append(name)
                return 201, public(job)
            if self.faults.get(op) == "no_pod" and op not in self._faulted:
                # Over quota: the Job exists, its controller cannot create a pod.
                self._faulted.add(op)
                return 201, public(job)
            self._start_pod(ns, job)
        return 201, public(job)

    def delete_job(self, ns: str, name: str) -> tuple[int, dict]:
        with self.lock:
            job = self.jobs.pop((ns, name), None)
            if job is None:
                return 404, not_found("jobs.batch", name)
            # Background propagation: the job's pods go too.
            for pod in list(self.pods.values()):
                if pod.job_name == name and pod.namespace == ns:
                    self._kill(pod)
        return 200, status_obj(200, "Success", f'jobs.batch "{name}" deleted')

    def _start_pod(self, ns: str, job: dict) -> None:
        tmpl = job["spec"]["template"]
        name = job["metadata"]["name"]
        suffix = "".join(random.choices(string.ascii_lowercase + string.digits, k=5))
        pod_name = f"{name}-{suffix}"
        labels = dict(tmpl.get("metadata", {}).get("labels", {}))
        labels.update(
            {
                "job-name": name,
                "batch.kubernetes.io/job-name": name,
                "controller-uid": job["metadata"]["uid"],
            }
        )
        container = tmpl["spec"]["containers"][0]
        obj = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": pod_name,
                "namespace": ns,
                "uid": str(uuid.uuid4()),
                "labels": labels,
                "creationTimestamp": now_iso(),
                "ownerReferences": [
                    {
                        "apiVersion": "batch/v1",
                        "kind": "Job",
                        "name": name,
                        "uid": job["metadata"]["uid"],
                        "controller": True,
                    }
                ],
            },
            "spec": json.loads(json.dumps(tmpl["spec"])),
            "status": {
                "phase": "Pending",
                "conditions": [{"type": "PodScheduled", "status": "True"}],
                "containerStatuses": [
                    container_status(container, {"waiting": {"reason": "ContainerCreating"}})
                ],
            },
        }
        log_path = self.workdir / "pods" / f"{pod_name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text("")
        pod = PodRun(obj, name, ns, log_path)
        self.pods[(ns, pod_name)] = pod
        threading.Thread(target=self._supervise, args=(pod, job), daemon=True).start()

    # --- the kubelet ----------------------------------------------------------------------
    def _supervise(self, pod: PodRun, job: dict) -> None:
        spec = pod.obj["spec"]
        container = spec["containers"][0]
        op = pod.obj["metadata"]["labels"].get("dagster/op", "")
        if container.get("image") not in self.images:
            image = container.get("image")
            self._set_waiting(
                pod, "ErrImagePull", f'rpc error: pull access denied for "{image}": not found'
            )
            time.sleep(0.5)
            self._set_waiting(pod, "ImagePullBackOff", f'Back-off pulling image "{image}"')
            return  # stays Pending until deleted or past the Job's deadline
        problem = self._mount_problem(spec)
        if problem:
            self._set_waiting(pod, "ContainerCreating", problem)
            return
        env, problem = self._container_env(pod, container)
        if problem:
            self._set_waiting(pod, "CreateContainerConfigError", problem)
            return
        with self.lock:
            fault = None
            if op in self.faults and op not in self._faulted:
                fault = self.faults[op]
                self._faulted.add(op)
                env.update(self.env_overrides.get(op, {}))
            if pod.forced is not None or (pod.namespace, pod.job_name) not in self.jobs:
                return
            argv = list(container.get("command") or []) + list(container.get("args") or [])
            if argv and argv[0] == "dagster":
                # The image's `dagster` entry point is this interpreter's dagster module.
                argv = [sys.executable, "-m", "dagster", *argv[1:]]
            log = pod.log_path.open("ab")
            pod.proc = subprocess.Popen(
                argv, env=env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT
            )
            log.close()
            self.timeline.append((pod.job_name, "started", time.time()))
            started = now_iso()
            st = pod.obj["status"]
            st.update(phase="Running", startTime=started, podIP="127.0.0.1")
            st["conditions"] = [
                {"type": t, "status": "True"} for t in ("PodScheduled", "Initialized", "Ready")
            ]
            st["containerStatuses"] = [
                container_status(container, {"running": {"startedAt": started}}, ready=True)
            ]
            job["status"]["ready"] = 1
        if fault == "evict":
            time.sleep(1.5)
            with self.lock:
                pod.forced = (
                    "Evicted",
                    "The node was low on resource: memory. Threshold quantity: 100Mi, "
                    "available: 80Mi. Container dagster was using 6Gi, request is 4Gi.",
                    137,
                )
                pod.proc.send_signal(signal.SIGKILL)
        code = pod.proc.wait()
        self._finish(pod, job, container, code)

    def _finish(self, pod: PodRun, job: dict, container: dict, code: int) -> None:
        with self.lock:
            self.timeline.append((pod.job_name, "finished", time.time()))
            st = pod.obj["status"]
            finished = now_iso()
            if pod.forced:
                reason, message, code = pod.forced
                st.update(phase="Failed", reason=reason, message=message)
                term_reason = "Error" if reason != "OOMKilled" else reason
            else:
                st["phase"] = "Succeeded" if code == 0 else "Failed"
                term_reason = "Completed" if code == 0 else "Error"
            started = (st["containerStatuses"][0]["state"].get("running") or {}).get("startedAt")
            term = {"exitCode": code, "reason": term_reason, "finishedAt": finished}
            if started:
                term["startedAt"] = started
            st["containerStatuses"] = [container_status(container, {"terminated": term})]
            if (pod.namespace, pod.job_name) not in self.jobs:
                return
            js = job["status"]
            js.update(active=0, ready=0)
            if st["phase"] == "Succeeded":
                js.update(succeeded=1, completionTime=finished)
                js["conditions"] = [job_condition("Complete", None, None)]
                return
            job["_pod_failures"] += 1
            js["failed"] = job["_pod_failures"]
            if (pod.forced or ("", "", 0))[0] == "DeadlineExceeded":
                js["conditions"] = [
                    job_condition(
                        "Failed",
                        "DeadlineExceeded",
                        "Job was active longer than specified deadline",
                    )
                ]
            elif job["_pod_failures"] > job["spec"]["backoffLimit"]:
                js["conditions"] = [
                    job_condition(
                        "Failed",
                        "BackoffLimitExceeded",
                        "Job has reached the specified backoff limit",
                    )
                ]
            else:
                js["active"] = 1
                self._start_pod(pod.namespace, job)

    def enforce_deadlines(self) -> None:
        """activeDeadlineSeconds: a Job past its deadline fails and its pods are killed."""
        with self.lock:
            for (ns, name), job in self.jobs.items():
                limit = job["spec"].get("activeDeadlineSeconds")
                done = job["status"].get("succeeded") or job["status"].get("conditions")
                if limit is None or done or time.monotonic() - job["_started"] < limit:
                    continue
                for pod in self.pods.values():
                    if pod.job_name == name and pod.namespace == ns:
                        pod.forced = ("DeadlineExceeded", "Pod was active too long", 137)
                        if pod.proc is None:
                            pod.obj["status"].update(
                                phase="Failed",
                                reason="DeadlineExceeded",
                                message="Pod was active on the node longer than the specified "
                                "deadline",
                            )
                        elif pod.proc.poll() is None:
                            pod.proc.send_signal(signal.SIGKILL)
                job["status"].update(active=0, failed=1)
                job["status"]["conditions"] = [
                    job_condition(
                        "Failed",
                        "DeadlineExceeded",
                        "Job was active longer than specified deadline",
                    )
                ]

    def _kill(self, pod: PodRun) -> None:
        pod.forced = pod.forced or ("Terminated", "deleted", 143)
        if pod.proc is not None and pod.proc.poll() is None:
            pod.proc.send_signal(signal.SIGTERM)

    def _set_waiting(self, pod: PodRun, reason: str, message: str) -> None:
        with self.lock:
            c = pod.obj["spec"]["containers"][0]
            pod.obj["status"]["containerStatuses"] = [
                container_status(c, {"waiting": {"reason": reason, "message": message}})
            ]

    def _mount_problem(self, spec: dict) -> str | None:
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        for m in spec["containers"][0].get("volumeMounts") or []:
            vol = volumes.get(m["name"])
            if vol is None:
                return f"volume {m['name']!r} is mounted but not declared"
            if "persistentVolumeClaim" in vol:
                key = ("pvc", vol["persistentVolumeClaim"]["claimName"])
            elif "configMap" in vol:
                key = ("configMap", vol["configMap"]["name"])
            else:
                return f"volume {m['name']!r}: only PVC and configMap volumes are supported here"
            host = self.mounts.get(key)
            if host is None:
                return f'Unable to attach or mount volumes: {key[0]} "{key[1]}" not found'
            if os.path.normpath(host) != os.path.normpath(m["mountPath"]):
                return f"{key[0]} {key[1]!r} can only be mounted at {host} in the stand-in"
        return None

    def _container_env(self, pod: PodRun, container: dict) -> tuple[dict, str | None]:
        env = dict(self.image_env)
        if container.get("envFrom"):
            return env, "envFrom (config maps, secrets) is not available in the stand-in"
        labels = pod.obj["metadata"]["labels"]
        for item in container.get("env") or []:
            if "value" in item:
                env[item["name"]] = item["value"] or ""
                continue
            ref = (item.get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath", "")
            m = _FIELD_LABEL.match(ref)
            if m:
                env[item["name"]] = labels.get(m.group(1), "")
            elif ref == "metadata.name":
                env[item["name"]] = pod.obj["metadata"]["name"]
            elif ref == "metadata.namespace":
                env[item["name"]] = pod.namespace
            else:
                return env, f"couldn't find key for env {item['name']!r}"
        return env, None

    # --- reads ----------------------------------------------------------------------------
    def list_pods(self, ns: str, selector: str) -> dict:
        want = parse_selector(selector)
        with self.lock:
            items = [
                p.obj
                for (pns, _), p in self.pods.items()
                if pns == ns and all(p.obj["metadata"]["labels"].get(k) == v for k, v in want)
            ]
            return {"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items}

    def list_jobs(self, ns: str, selector: str) -> dict:
        want = parse_selector(selector)
        with self.lock:
            items = [
                public(j)
                for (jns, _), j in self.jobs.items()
                if jns == ns and all(j["metadata"]["labels"].get(k) == v for k, v in want)
            ]
        return {"apiVersion": "batch/v1", "kind": "JobList", "metadata": {}, "items": items}

    def shutdown(self) -> None:
        with self.lock:
            for pod in self.pods.values():
                if pod.proc is not None and pod.proc.poll() is None:
                    pod.proc.kill()


def _has_requests(container: dict) -> bool:
    requests = (container.get("resources") or {}).get("requests") or {}
    return "cpu" in requests and "memory" in requests


def container_status(container: dict, state: dict, ready: bool = False) -> dict:
    return {
        "name": container.get("name", "dagster"),
        "image": container.get("image", ""),
        "imageID": "",
        "ready": ready,
        "restartCount": 0,
        "started": "running" in state,
        "state": state,
    }


def job_condition(kind: str, reason: str | None, message: str | None) -> dict:
    cond = {"type": kind, "status": "True", "lastTransitionTime": now_iso()}
    if reason:
        cond.update(reason=reason, message=message)
    return cond


def public(job: dict) -> dict:
    return {k: v for k, v in job.items() if not k.startswith("_")}


def parse_selector(selector: str) -> list[tuple[str, str]]:
    pairs = []
    for part in filter(None, (selector or "").split(",")):
        key, _, value = part.partition("=")
        pairs.append((key.strip(), value.strip().lstrip("=")))
    return pairs


def status_obj(code: int, reason: str, message: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Status",
        "metadata": {},
        "status": "Success" if code < 300 else "Failure",
        "reason": reason,
        "message": message,
        "code": code,
    }


def not_found(kind: str, name: str) -> dict:
    return status_obj(404, "NotFound", f'{kind} "{name}" not found')


class Handler(BaseHTTPRequestHandler):
    cluster: FakeCluster

    def log_message(self, *args) -> None:  # quiet: the test reads `calls` instead
        pass

    def _send(self, code: int, body: dict | str) -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(code)
        ctype = "text/plain" if isinstance(body, str) else "application/json"
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict:
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"{}")

    def _route(self, method: str) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        c = self.cluster
        c.calls.append((method, url.path))
        if m := _JOBS.match(url.path):
            ns, name, _status = m.groups()
            if method == "POST" and not name:
                return self._send(*c.create_job(ns, self._body()))
            if method == "GET" and not name:
                return self._send(200, c.list_jobs(ns, query.get("labelSelector", "")))
            if method == "GET":
                with c.lock:
                    job = c.jobs.get((ns, name))
                    body = public(json.loads(json.dumps(job, default=str))) if job else None
                return self._send(200, body) if body else self._send(404, not_found("jobs", name))
            if method == "DELETE":
                self._body()
                return self._send(*c.delete_job(ns, name))
        if m := _PODS.match(url.path):
            ns, name, log = m.groups()
            if method == "GET" and not name:
                return self._send(200, c.list_pods(ns, query.get("labelSelector", "")))
            with c.lock:
                pod = c.pods.get((ns, name or ""))
            if pod is None:
                return self._send(404, not_found("pods", name or ""))
            if method == "GET" and log:
                lines = pod.log_path.read_text(errors="replace").splitlines()
                tail = int(query.get("tailLines", 0) or 0)
                return self._send(200, "\n".join(lines[-tail:] if tail else lines) + "\n")
            if method == "GET":
                with c.lock:
                    return self._send(200, json.loads(json.dumps(pod.obj)))
            if method == "DELETE":
                self._body()
                with c.lock:
                    c._kill(pod)
                    c.pods.pop((ns, name), None)
                return self._send(200, pod.obj)
        c.unhandled.append((method, url.path))
        self._send(404, status_obj(404, "NotFound", f"the stand-in does not serve {url.path}"))

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def do_PATCH(self) -> None:
        self._route("PATCH")

    def do_PUT(self) -> None:
        self._route("PUT")


class FakeK8sServer:
    """The stand-in on a free loopback port, with a kubeconfig pointing the real client at it."""

    def __init__(self, cluster: FakeCluster):
        self.cluster = cluster
        handler = type("BoundHandler", (Handler,), {"cluster": cluster})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._stop = threading.Event()

    def write_kubeconfig(self, path: Path, namespace: str) -> Path:
        path.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "standin", "cluster": {"server": self.url}}],
                    "users": [{"name": "standin", "user": {"token": "standin"}}],
                    "contexts": [
                        {
                            "name": "standin",
                            "context": {
                                "cluster": "standin",
                                "user": "standin",
                                "namespace": namespace,
                            },
                        }
                    ],
                    "current-context": "standin",
                }
            )
        )
        return path

    def __enter__(self) -> FakeK8sServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        threading.Thread(target=self._deadlines, daemon=True).start()
        return self

    def _deadlines(self) -> None:
        while not self._stop.wait(0.5):
            self.cluster.enforce_deadlines()

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.cluster.shutdown()
