"""What signing and verifying add to a retrain, and `validate` throughput signed vs unsigned.

Per run directory of the bundled example (iris, mock mode), in this process, median of --reps:

- the added time per retrain, part by part: loading the key, building the SLSA predicate and
  signing `attestation.json` (write + fsync); the signature and subject checks the
  `run_contract` check now does beyond re-hashing; verifying the candidate again at promotion;
  reading the champion from a signed ledger of --ledger-entries entries and verifying its run;
  signing the ledger entry. Target: < 10 ms in all. Reference: a whole core retrain (start to
  publish, unsigned parts only) measured in the same run.
- `validate` throughput over --runs run directories: `verify_run_dir` (signature, subjects,
  hashes.json, audit log) against `validate_run_contract` (today's unsigned check), run
  directories per second and the ratio.
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import checkout  # noqa: F401 - this checkout on sys.path (benchmarks/checkout.py)
from harness import SMOKE_HELP, median_seconds

from tests.support.examples import IRIS
from tests.support.keys import write_private_key


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--ledger-entries", type=int, default=200)
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = ap.parse_args()
    if args.smoke:
        args.reps, args.runs, args.ledger_entries = 2, 3, 5
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        key = root / "signing.pem"
        write_private_key(key)
        os.environ["VERIFILY_SIGNING_KEY"] = str(key)
        os.environ["VERIFILY_STATE_DIR"] = str(root / "state")
        run(root, args)


def run(root: Path, args) -> None:
    # Imported after the environment names the key and the state directory.
    from verifily.dataset.verify import verify_artifact
    from verifily.registry.champion import champion_results, current_champion
    from verifily.registry.ledger import append_promotion, ledger_path, verify_ledger
    from verifily.retrain import steps
    from verifily.retrain.request import RetrainRequest
    from verifily.rundir.attestation import attest_run_dir
    from verifily.rundir.contract import validate_run_contract
    from verifily.rundir.layout import publish_run_dir
    from verifily.rundir.provenance import retrain_provenance
    from verifily.rundir.validation import verify_run_dir
    from verifily.signing.keystore import signer, trusted_keys
    from verifily.signing.statement import make_statement, sign_statement

    dataset = verify_artifact(IRIS)
    out = root / "runs"

    def decided(seed: int) -> dict:
        req = RetrainRequest(dataset_dir=str(IRIS), output_dir=str(out), seed=seed)
        return steps.decide(steps.evaluate(steps.train(steps.start(req, dataset, "bench"))))

    # Reference: a core retrain with today's (unsigned) publish: write, seal, rename.
    def unsigned_retrain(seed: int = 1) -> None:
        state = decided(seed)
        steps.seal(state)
        publish_run_dir(Path(state["staging_dir"]), Path(state["final_dir"]))

    retrain_ms = 1000 * median_seconds(unsigned_retrain, args.reps)

    # Signing one run directory: key load, predicate, statement over every file, write+fsync.
    staged = []
    for seed in range(args.reps):
        state = decided(seed)
        staged.append((state, steps.seal(state)))
    it = iter(staged)

    def sign_one() -> None:
        state, contract = next(it)
        s = signer()
        predicate = retrain_provenance(state, contract["files"]["decision/decision.json"])
        attest_run_dir(state["staging_dir"], contract["files"], predicate, s)
        # Publishing fsyncs every file before the rename: one more file to fsync.
        fd = os.open(Path(state["staging_dir"]) / "attestation.json", os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    sign_ms = 1000 * median_seconds(sign_one, args.reps)
    for state, _ in staged:
        publish_run_dir(Path(state["staging_dir"]), Path(state["final_dir"]))
    run_dirs = [Path(state["final_dir"]) for state, _ in staged]
    while len(run_dirs) < args.runs:
        run_dirs.append(Path(steps.publish(decided(len(run_dirs)))["run_dir"]))

    keys = trusted_keys()
    one = run_dirs[0]
    unsigned_check_ms = 1000 * median_seconds(lambda: validate_run_contract(one), args.reps)
    signed_check_ms = 1000 * median_seconds(lambda: verify_run_dir(one, keys), args.reps)
    check_added_ms = signed_check_ms - unsigned_check_ms

    # A ledger of --ledger-entries entries over other models, then one champion of ours.
    ledger = ledger_path()
    s = signer()
    digest = verify_run_dir(one, keys).digest
    for i in range(args.ledger_entries):
        append_promotion(
            ledger, "alias_moved", signer=s, subject=(str(one), str(digest)),
            model=f"other-{i % 20}", alias="champion", from_version=None, to_version=str(i),
        )  # fmt: skip
    append_promotion(
        ledger, "alias_moved", signer=s, subject=(str(one), str(digest)), model="default",
        alias="champion", from_version=None, to_version="1", run_dir=str(one),
        attestation_digest=digest,
    )  # fmt: skip

    def champion() -> None:
        holder = current_champion("default", keys=keys)
        assert holder is not None
        found = champion_results(holder, keys)
        assert found.value, found.error

    champion_ms = 1000 * median_seconds(champion, args.reps)
    ledger_ms = 1000 * median_seconds(lambda: verify_ledger(ledger, keys, "default"), args.reps)
    entry = make_statement({str(one): str(digest)}, "https://verifily.dev/promotion/v1", {})
    ledger_sign_ms = 1000 * median_seconds(lambda: sign_statement(entry, s), args.reps)

    entries = args.ledger_entries + 1
    run_dir_parts = {
        "sign attestation.json (key, predicate, statement, write, fsync)": sign_ms,
        "run_contract check: signature + subjects beyond re-hashing": check_added_ms,
        "promotion: verify the candidate run directory": signed_check_ms,
    }
    ledger_parts = {
        f"decision: champion from a {entries}-entry signed ledger, verify its run": champion_ms,
        "promotion: re-read the ledger under the lock": ledger_ms,
        "promotion: sign the ledger entry": ledger_sign_ms,
    }
    print(f"added time per retrain (run directory of the example, median of {args.reps}):")
    for title, parts in (("run directory", run_dir_parts), ("signed ledger", ledger_parts)):
        for what, ms in parts.items():
            print(f"  {what:<72} {ms:7.2f} ms")
        print(f"  {'= ' + title:<72} {sum(parts.values()):7.2f} ms")
    run_dir_ms = sum(run_dir_parts.values())
    total = run_dir_ms + sum(ledger_parts.values())
    print(f"  {'total':<72} {total:7.2f} ms")
    print(
        f"target < 10 ms per run directory: {run_dir_ms:.2f} ms "
        f"({'met' if run_dir_ms < 10 else 'NOT met'})"
    )
    print(
        f"reference: core retrain without signing {retrain_ms:.2f} ms -> signing and the "
        f"signed ledger add {total / retrain_ms:.2f}x of it"
    )

    def throughput(fn) -> float:
        t0 = time.perf_counter()
        for d in run_dirs:
            fn(d)
        return len(run_dirs) / (time.perf_counter() - t0)

    throughput(lambda d: verify_run_dir(d, keys))  # warm the page cache
    unsigned = statistics.median(throughput(validate_run_contract) for _ in range(3))
    signed = statistics.median(throughput(lambda d: verify_run_dir(d, keys)) for _ in range(3))
    print(
        f"validate throughput over {len(run_dirs)} run directories: signed "
        f"{signed:.0f} runs/s, unsigned (today's) {unsigned:.0f} runs/s -> ratio "
        f"{signed / unsigned:.2f}"
    )


if __name__ == "__main__":
    main()
