"""A person's path through the Dagster UI, in Debian's headless Chromium.

The test starts dagster-webserver and dagster-daemon on loopback with a private DAGSTER_HOME
(the default QueuedRunCoordinator needs the daemon to launch UI runs; the daemon also runs
the sensor that adds each configured model's partition), then: the lineage graph shows every
asset and every edge that `defs` declares; "Materialize all" with a partition and launchpad
config starts a run that succeeds; the decision page shows the recommendation and its
reasons; a contract check on a tampered run directory shows as failed.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import dagster as dg
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.support.examples import IRIS, REPO
from verifily_assets.definitions import defs

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = REPO / "test-artifacts" / "dagster_ui"
DOCS_IMG = REPO / "docs" / "img"
MODEL = "iris"

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what: str, predicate, timeout: float = 90, interval: float = 0.5):
    """Poll predicate until it returns something truthy; fail naming what never happened."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # the page or server may be mid-render; keep polling
            last_error = e
        time.sleep(interval)
    raise AssertionError(
        f"timed out after {timeout}s waiting for {what} (last error: {last_error})"
    )


def expected_graph() -> tuple[set[str], set[tuple[str, str]]]:
    """Every asset and lineage edge the code location declares, read from defs at test time."""
    graph = defs.resolve_asset_graph()
    keys = {
        k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).is_materializable
    }
    edges = {
        (parent.to_user_string(), k.to_user_string())
        for k in graph.get_all_asset_keys()
        if k.to_user_string() in keys
        for parent in graph.get(k).parent_keys
        if parent.to_user_string() in keys
    }
    return keys, edges


def stop(proc: subprocess.Popen) -> None:
    """Stop a server this test started (its own process group), politely then firmly."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)


@pytest.fixture
def dagster_ui(tmp_path, dagster_home, instance):
    """dagster-webserver + dagster-daemon on a free loopback port; yields the base URL."""
    models = tmp_path / "models.yaml"
    models.write_text(
        "models:\n"
        + "".join(
            f"  - id: {m}\n    feed: {{kind: jsonl, path: feeds/{m}}}\n" for m in (MODEL, "churn")
        )
    )
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        "load_from:\n  - python_module:\n      module_name: verifily_assets.definitions\n"
        f"      working_directory: {REPO}\n"
    )
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "VERIFILY_MODELS_CONFIG": str(models),
        "VERIFILY_OUTPUT_ROOT": str(tmp_path / "runs"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    # Create the SQLite tables here, once: a webserver and a daemon starting together on an
    # empty DAGSTER_HOME race to create them ("table jobs already exists").
    instance.get_runs(limit=1)
    instance.all_instigator_state()
    instance.get_dynamic_partitions("model_id")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    bin_dir = Path(sys.executable).parent
    logs = tmp_path / "logs"
    logs.mkdir()
    procs: list[subprocess.Popen] = []

    def start(name: str, cmd: list[str]) -> None:
        out = open(logs / f"{name}.log", "wb")  # noqa: SIM115 - lives as long as the process
        procs.append(
            subprocess.Popen(
                [str(bin_dir / cmd[0]), *cmd[1:], "-w", str(workspace)],
                cwd=tmp_path,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    try:
        start("webserver", ["dagster-webserver", "-h", "127.0.0.1", "-p", str(port)])
        wait_until(
            "the webserver to answer",
            lambda: urllib.request.urlopen(base + "/server_info", timeout=2).status == 200,
            timeout=120,
        )
        start("daemon", ["dagster-daemon", "run"])
        yield base
    finally:
        for p in procs:
            stop(p)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for log in logs.iterdir():
            shutil.copy(log, ARTIFACTS / log.name)


@pytest.fixture
def browser():
    """Headless Chromium via the system chromedriver (selenium-manager never downloads)."""
    for binary in (CHROMIUM, CHROMEDRIVER):
        # A missing browser is a broken environment, not a reason to skip the UI test.
        assert os.path.exists(binary), f"{binary} missing: run scripts/system-deps.sh"
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="verifily-chromium-")
    for flag in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1600,1000",
        f"--user-data-dir={profile}",
    ]:
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def shot(driver, name: str, readme: bool = False) -> None:
    """Save a screenshot under test-artifacts/; README ones also to docs/img when asked to.

    docs/img is tracked, so it is only rewritten with VERIFILY_UPDATE_SCREENSHOTS=1 (a plain
    test run leaves the worktree clean).
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    if readme and os.environ.get("VERIFILY_UPDATE_SCREENSHOTS") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(DOCS_IMG / f"{name}.png"))


def open_page(driver, url: str) -> None:
    driver.get(url)
    # The first visit shows a newsletter dialog over everything; a person would dismiss it.
    driver.execute_script("window.localStorage.setItem('communityNux', '1')")


def expand_all_groups(driver, want: set[str]) -> None:
    """Open every collapsed group as a person would: click its unfold icon, one by one."""
    wait_until(
        "the lineage graph", lambda: driver.find_element(By.CSS_SELECTOR, "svg foreignObject")
    )
    collapsed = 'svg[class*="svgContainer"] [aria-label="unfold_more"]'
    for _ in range(20):
        if want <= graph_on_page(driver)[0]:
            return
        icons = driver.find_elements(By.CSS_SELECTOR, collapsed)
        if not icons:
            return
        webdriver.ActionChains(driver).click(icons[0]).perform()
        time.sleep(0.5)


def graph_on_page(driver) -> tuple[set[str], set[tuple[str, str]]]:
    """Asset names and edges as drawn: an edge is a lineage path from one node box to another.

    The graph is SVG: nodes are foreignObjects holding the asset name, edges are paths whose
    first point lies on the right side of the source box and whose end lies at the target's
    left side. Matching geometry asserts what a person sees, not what the API says.
    """
    drawn = driver.execute_script(
        """
        const svg = document.querySelector('svg[class*="svgContainer"]');
        const nodes = [];
        for (const fo of svg.querySelectorAll('foreignObject')) {
          const name = fo.querySelector('[class*="assetName"]');
          if (!name) continue;
          nodes.push({name: name.textContent.trim(), x: +fo.getAttribute('x'),
                      y: +fo.getAttribute('y'), w: +fo.getAttribute('width'),
                      h: +fo.getAttribute('height')});
        }
        const edges = [];
        for (const p of svg.querySelectorAll('path[stroke*="lineage-edge"]')) {
          edges.push(p.getAttribute('d'));
        }
        return {nodes, edges};
        """
    )
    nodes = drawn["nodes"]
    names = {n["name"] for n in nodes}
    number = r"-?\d+(?:\.\d+)?"

    def box_at(x: float, y: float, slack: float = 12):
        hits = [
            n
            for n in nodes
            if n["x"] - slack <= x <= n["x"] + n["w"] + slack and n["y"] <= y <= n["y"] + n["h"]
        ]
        return min(hits, key=lambda n: n["w"]) if hits else None

    edges = set()
    for d in drawn["edges"]:
        pts = [float(v) for v in re.findall(number, d)]
        (x0, y0), (x1, y1) = pts[:2], pts[-2:]
        src, dst = box_at(x0, y0), box_at(x1, y1)
        if src and dst and src is not dst:
            edges.add((src["name"], dst["name"]))
    return names, edges


def test_person_browses_lineage_materializes_and_reads_the_decision(dagster_ui, instance, browser):
    base = dagster_ui
    want_assets, want_edges = expected_graph()
    assert want_edges, "the code location declares no lineage edges"

    # 1. The whole lineage, every group expanded, in a window wide enough to draw it all.
    browser.set_window_size(2600, 1000)
    open_page(browser, base + "/asset-groups")
    expand_all_groups(browser, want_assets)

    missing: dict = {}

    def complete_graph():
        names, edges = graph_on_page(browser)
        missing.update(assets=want_assets - names, edges=want_edges - edges)
        return want_assets <= names and want_edges <= edges

    try:
        wait_until("every asset and edge to be drawn", complete_graph, timeout=30)
    except AssertionError as e:
        raise AssertionError(f"{e}; not drawn: {missing}") from None
    finally:
        shot(browser, "lineage_before_run")
    names, edges = graph_on_page(browser)
    assert want_assets <= names, f"missing from the graph: {want_assets - names}"
    assert want_edges <= edges, f"edges missing from the graph: {want_edges - edges}"

    # 2. The models configuration names iris: the daemon's sensor must give it a partition.
    wait_until(
        "the model_partitions_sensor to add the configured models' partitions",
        lambda: {MODEL, "churn"} <= set(instance.get_dynamic_partitions("model_id")),
    )

    # 3. "Materialize all": pick the model's partition, fill the launchpad, launch.
    run_id = launch_from_launchpad(browser, base)
    status = wait_until(
        f"run {run_id} to finish on its page",
        lambda: (
            run_status_on_page(browser) in ("Success", "Failure", "Canceled")
            and run_status_on_page(browser)
        ),
        timeout=180,
    )
    shot(browser, "run")
    assert status == "Success", f"the UI run {run_id} ended {status}"

    # The README's lineage picture, after the run: wide enough that nodes show their
    # latest event, check results, partitions and kinds rather than bare names.
    browser.set_window_size(2600, 1000)
    open_page(browser, base + "/asset-groups")
    expand_all_groups(browser, want_assets)
    time.sleep(2)  # let the status badges load
    shot(browser, "lineage", readme=True)
    browser.set_window_size(1600, 1000)

    # 4. The decision page shows the recommendation and every reason recorded on disk.
    mat = instance.get_latest_materialization_event(dg.AssetKey("decision"))
    assert mat is not None and mat.asset_materialization.partition == MODEL
    run_dir = Path(mat.asset_materialization.metadata["run_dir"].value)
    recorded = json.loads((run_dir / "decision" / "decision.json").read_text())
    open_page(browser, base + f"/assets/decision?partition={MODEL}")
    rec = recorded["recommendation"]
    heading = f"//h2[starts-with(normalize-space(), '{rec}:')]"

    def reasons_shown():
        # Long Markdown sits behind a "Show Markdown" button; a person clicks it.
        for button in browser.find_elements(By.XPATH, "//*[contains(text(), 'Show Markdown')]"):
            webdriver.ActionChains(browser).scroll_to_element(button).click(button).perform()
        return browser.find_elements(By.XPATH, heading) and browser.find_elements(
            By.XPATH, "//h3[normalize-space()='Why']"
        )

    try:
        wait_until("the decision's recommendation and reasons on its page", reasons_shown)
    except AssertionError as e:
        page = browser.find_element(By.TAG_NAME, "body").text
        raise AssertionError(f"{e}; the page says: {page[-1500:]}") from None
    finally:
        shot(browser, "decision_page")
    time.sleep(1)  # the metadata table finishes laying out; then bring the decision into view
    # The page may re-render (live refresh) and fold the Markdown again: unfold it once more.
    shown = wait_until(
        "the decision's recommendation after the page settled",
        lambda: reasons_shown() and browser.find_elements(By.XPATH, heading),
    )
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", shown[0])

    def page_text():
        # A live refresh can fold the Markdown again between reads: unfold it, then read.
        reasons_shown()
        return " ".join(browser.find_element(By.TAG_NAME, "body").text.split())

    def all_on_page():
        page = page_text()
        rules_shown = all(
            r["rule"] in page and " ".join(r["message"].split()) in page
            for r in recorded["rules_fired"]
        )
        return page if f"{rec}:" in page and rules_shown else None

    try:
        page = wait_until("the recommendation and every rule's message on the page", all_on_page)
    finally:
        shot(browser, "decision", readme=True)
    assert f"{rec}:" in page, "the recommendation is not on the page"
    for rule in recorded["rules_fired"]:
        assert rule["rule"] in page and " ".join(rule["message"].split()) in page, rule

    # 5. Someone edits the published run; re-running the contract check on the model's
    # partition (in this process, on the same instance: the UI's "Execute all" launches
    # partitioned checks without a partition) must show as failed on the checks tab.
    with open(run_dir / "decision" / "decision.txt", "a") as f:
        f.write("edited after publication\n")
    recheck = defs.resolve_job_def("retrain_job").execute_in_process(
        instance=instance,
        partition_key=MODEL,
        op_selection=["decision_run_contract"],
        raise_on_error=False,
    )
    assert [e.passed for e in recheck.get_asset_check_evaluations()] == [False]
    open_page(browser, base + f"/assets/decision?view=checks&partition={MODEL}")
    failed = wait_until(
        "the run_contract check to show as failed",
        lambda: browser.find_elements(By.XPATH, "//*[normalize-space()='Failed']"),
        timeout=60,
    )
    shot(browser, "check_failed")
    page = browser.find_element(By.TAG_NAME, "body").text
    assert failed and "decision.txt" in page, "the failed check does not say what changed"


def click(driver, xpath: str, what: str, timeout: float = 30) -> None:
    """Click once the element exists; React re-renders can replace it between find and click."""

    def go():
        driver.find_element(By.XPATH, xpath).click()
        return True

    wait_until(what, go, timeout=timeout)


def launch_from_launchpad(driver, base: str) -> str:
    """Materialize all, partition iris, dataset_dir typed into the scaffolded config; run id."""
    open_page(driver, base + "/asset-groups")
    click(driver, "//button[contains(., 'Materialize all')]", "the Materialize all button")
    picker = "//input[@placeholder='Partition']"

    def choose_partition():
        field = driver.find_element(By.XPATH, picker)
        field.click()
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(MODEL)
        time.sleep(1)  # the suggestion list filters as you type; Enter takes its first entry
        driver.find_element(By.XPATH, picker).send_keys(Keys.ENTER)
        return driver.find_elements(By.XPATH, f"//*[normalize-space()='partition: {MODEL}']")

    wait_until("the model's partition to be chosen in the launchpad", choose_partition)
    editor = "document.querySelector('.CodeMirror.cm-s-config-editor').CodeMirror"
    config = driver.execute_script(f"return {editor}.getValue()")
    # The launchpad offers the request's fields with their defaults: no YAML to write by hand.
    assert re.search(r"seed: 42\b", config) and re.search(r"mode: '?mock'?", config), config
    click(driver, "//button[contains(., 'Scaffold missing config')]", "Scaffold missing config")
    click(driver, "//button[normalize-space()='Confirm']", "the scaffold confirmation")
    config = wait_until(
        "the scaffolded dataset_dir",
        lambda: "dataset_dir" in (v := driver.execute_script(f"return {editor}.getValue()")) and v,
    )
    config = re.sub(r"dataset_dir: .*", f"dataset_dir: '{IRIS}'", config)
    driver.execute_script(f"{editor}.setValue(arguments[0])", config)
    shot(driver, "launchpad")
    launch = "//button[normalize-space()='Materialize' and not(@disabled)]"
    click(driver, launch, "the launchpad to accept the config and launch")
    url = wait_until("the run page", lambda: "/runs/" in driver.current_url and driver.current_url)
    return url.rsplit("/runs/", 1)[1].split("?")[0]


def run_status_on_page(driver) -> str | None:
    """The status tag in the run page header (Queued, Started, Success, Failure, ...)."""
    for status in ("Success", "Failure", "Canceled", "Started", "Starting", "Queued"):
        if driver.find_elements(By.XPATH, f"//*[normalize-space(text())='{status}']"):
            return status
    return None


def test_person_finds_a_pending_approval_and_reviews_it_from_the_launchpad(
    dagster_ui, instance, browser, tmp_path
):
    """An INVESTIGATE of model churn opens an approval; the daemon's approvals sensor shows it
    as an observation on churn's `decision` partition, where a person finds it; they launch
    `review_candidate` from its launchpad with the id, verdict and reason; champion moves."""
    # Imported here: the code location's door, as the CLI uses it (start-up cost of Dagster).
    from verifily.approvals.approval_store import ApprovalStore
    from verifily.registry.champion import current_champion
    from verifily_assets.launch import run_retrain

    base = dagster_ui
    cfg = tmp_path / "pipeline.yaml"
    cfg.write_text("min_metric: 0.82\ninvestigate_band: 0.02\n")
    wait_until(
        "the churn partition",
        lambda: "churn" in set(instance.get_dynamic_partitions("model_id")),
    )
    resp = run_retrain(
        {
            "dataset_dir": str(IRIS),
            "project_id": "churn",
            "pipeline_config": str(cfg),
            "output_dir": str(tmp_path / "runs"),
        },
        instance=instance,
    )
    assert resp["decision"] == "INVESTIGATE"
    [approval] = ApprovalStore().list("churn", "pending")
    approval_id = approval["approval_id"]

    # 1. The pending approval on the decision asset's churn partition (an observation).
    def observed():
        open_page(browser, base + "/assets/decision?view=events&partition=churn")
        time.sleep(2)
        page = browser.find_element(By.TAG_NAME, "body").text
        return approval_id in page and "pending" in page

    try:
        wait_until("the pending approval on the decision asset", observed, timeout=90)
    finally:
        shot(browser, "approval", readme=True)

    # 2. The review_candidate launchpad: the approval id, the verdict and the reason.
    open_page(
        browser, base + "/locations/verifily_assets.definitions/jobs/review_candidate/playground"
    )
    editor = "document.querySelector('.CodeMirror.cm-s-config-editor').CodeMirror"
    wait_until("the launchpad editor", lambda: browser.execute_script(f"return !!{editor}"))
    config = (
        "ops:\n  review:\n    config:\n"
        f"      approval_id: {approval_id}\n      verdict: approve\n"
        "      reason: the near-threshold f1 is fine for churn\n"
    )
    browser.execute_script(f"{editor}.setValue(arguments[0])", config)
    shot(browser, "review_launchpad")
    click(browser, "//button[normalize-space()='Launch Run' and not(@disabled)]", "Launch Run")
    url = wait_until(
        "the review run page", lambda: "/runs/" in browser.current_url and browser.current_url
    )
    run_id = url.rsplit("/runs/", 1)[1].split("?")[0]
    status = wait_until(
        f"review run {run_id} to finish on its page",
        lambda: (
            run_status_on_page(browser) in ("Success", "Failure", "Canceled")
            and run_status_on_page(browser)
        ),
        timeout=180,
    )
    shot(browser, "review_run")
    assert status == "Success", f"the review run {run_id} ended {status}"
    closed = ApprovalStore().get(approval_id)
    assert closed is not None and closed["state"] == "approved"
    assert closed["actor"] == f"dagster ui (run {run_id})"
    holder = current_champion("churn")
    assert holder is not None and holder.run_dir == resp["run_dir"]
