"""GraphQL over the job records (triggerMLRetraining, mlRetrainingJobs, mlRetrainingJob) and
the approvals (mlApprovals, approveModel, rejectModel).

Graphene, because dagster-graphql already brings it (and graphql-core) into the dependency
tree; Strawberry would add a dependency for the same three fields.
"""

from __future__ import annotations

from typing import Annotated

import graphene
import pydantic
from fastapi import APIRouter, Body, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from graphene.types.generic import GenericScalar

from verifily.api.responses import SafeJSONResponse
from verifily.api.routes.intelgraph import trigger_model_retrain
from verifily.api.schemas import ApprovalVerdictBody, ModelRetrainBody
from verifily.approvals import review
from verifily.errors import InputError, VerifilyError
from verifily.model_ids import check_model_id
from verifily.tracking.store import resolve_tracking_settings

router = APIRouter(tags=["graphql"])
STATUS_VALUES = ("QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELED")
# Who a GraphQL verdict is recorded as when the operation names no actor.
GRAPHQL_ACTOR = "graphql client"


class MLRetrainingJob(graphene.ObjectType):
    """A retraining job: its id for good, its Dagster run once it exists, its events."""

    id = graphene.ID(required=True)
    dagsterRunId = graphene.String()
    modelId = graphene.String()
    reason = graphene.String()
    status = graphene.String(required=True)
    trigger = graphene.String()
    dataWindow = GenericScalar()
    recordCounts = GenericScalar()
    k8sJobName = graphene.String()
    k8sNamespace = graphene.String()
    k8sJobs = GenericScalar()
    mlflowRunId = graphene.String()
    metrics = GenericScalar()
    decision = graphene.String()
    scheduledAt = graphene.String()
    startedAt = graphene.String()
    completedAt = graphene.String()
    error = GenericScalar()
    runDir = graphene.String()
    events = GenericScalar()


class MLApproval(graphene.ObjectType):
    """A decision that waits for a person (INVESTIGATE, or a SHIP under require_approval)."""

    id = graphene.ID(required=True)
    modelId = graphene.String(required=True)
    state = graphene.String(required=True)
    recommendation = graphene.String(required=True)
    reasons = GenericScalar()
    runDir = graphene.String()
    attestationDigest = graphene.String()
    champion = GenericScalar()
    dagsterRunId = graphene.String()
    openedAt = graphene.String()
    expiresAt = graphene.String()
    closedAt = graphene.String()
    actor = graphene.String()
    reason = graphene.String()
    outcome = GenericScalar()


def _approval(a: dict) -> dict:
    return {
        "id": a["approval_id"],
        "modelId": a["model"],
        "state": a["state"],
        "recommendation": a["recommendation"],
        "reasons": a["reasons"],
        "runDir": a["run_dir"],
        "attestationDigest": a["attestation_digest"],
        "champion": a["champion"],
        "dagsterRunId": a["dagster_run_id"],
        "openedAt": a["opened_at"],
        "expiresAt": a["expires_at"],
        "closedAt": a["closed_at"],
        "actor": a["actor"],
        "reason": a["reason"],
        "outcome": a["outcome"],
    }


def _verdict_args(reason: str, actor: str | None) -> tuple[str, str]:
    # The REST route's body schema, so reason and actor obey the same limits over GraphQL.
    try:
        body = ApprovalVerdictBody(reason=reason, actor=actor or GRAPHQL_ACTOR)
    except pydantic.ValidationError as e:
        raise InputError(
            "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        ) from None
    return body.reason, body.actor


class Query(graphene.ObjectType):
    mlRetrainingJobs = graphene.List(
        graphene.NonNull(MLRetrainingJob),
        required=True,
        modelId=graphene.String(),
        status=graphene.String(),
        limit=graphene.Int(default_value=20),
        offset=graphene.Int(default_value=0),
    )
    mlRetrainingJob = graphene.Field(MLRetrainingJob, jobId=graphene.ID(required=True))
    mlApprovals = graphene.List(
        graphene.NonNull(MLApproval),
        required=True,
        modelId=graphene.String(),
        state=graphene.String(),
    )

    @staticmethod
    def resolve_mlApprovals(root, info, modelId=None, state=None):
        if modelId is not None:
            check_model_id(modelId, "modelId")
        return [_approval(a) for a in review.list_approvals(modelId, state)]

    @staticmethod
    def resolve_mlRetrainingJobs(root, info, modelId=None, status=None, limit=20, offset=0):
        if modelId is not None:
            check_model_id(modelId, "modelId")
        if status is not None and status not in STATUS_VALUES:
            raise InputError(f"status must be one of {', '.join(STATUS_VALUES)}")
        if not 1 <= limit <= 100 or offset < 0:
            raise InputError("limit must be 1..100 and offset >= 0")
        jobs = info.context["app"].state.jobs
        return jobs.list_records(modelId, status, limit, offset)["jobs"]

    @staticmethod
    def resolve_mlRetrainingJob(root, info, jobId):
        try:
            return info.context["app"].state.jobs.record(jobId)
        except VerifilyError as e:
            if e.http_status == 404:
                return None
            raise


class Mutation(graphene.ObjectType):
    triggerMLRetraining = graphene.Field(
        graphene.NonNull(MLRetrainingJob),
        modelId=graphene.String(required=True),
        reason=graphene.String(),
    )

    approveModel = graphene.Field(
        graphene.NonNull(MLApproval),
        approvalId=graphene.ID(required=True),
        reason=graphene.String(required=True),
        actor=graphene.String(),
    )
    rejectModel = graphene.Field(
        graphene.NonNull(MLApproval),
        approvalId=graphene.ID(required=True),
        reason=graphene.String(required=True),
        actor=graphene.String(),
    )

    @staticmethod
    def resolve_approveModel(root, info, approvalId, reason, actor=None):
        reason, actor = _verdict_args(reason, actor)
        settings = resolve_tracking_settings()
        return _approval(review.approve(approvalId, actor=actor, reason=reason, settings=settings))

    @staticmethod
    def resolve_rejectModel(root, info, approvalId, reason, actor=None):
        reason, actor = _verdict_args(reason, actor)
        return _approval(review.reject(approvalId, actor=actor, reason=reason))

    @staticmethod
    def resolve_triggerMLRetraining(root, info, modelId, reason=None):
        check_model_id(modelId, "modelId")
        # The REST route's body schema, so `reason` obeys the same limits over GraphQL.
        try:
            ModelRetrainBody(reason=reason)
        except pydantic.ValidationError as e:
            raise InputError("; ".join(str(err["msg"]) for err in e.errors())) from None
        return trigger_model_retrain(info.context["app"], modelId, reason)


schema = graphene.Schema(query=Query, mutation=Mutation, auto_camelcase=False)


@router.post("/graphql")
async def graphql_endpoint(request: Request, payload: Annotated[dict, Body()]) -> JSONResponse:
    """Execute one GraphQL operation (`query`, `variables`, `operationName`)."""
    query = payload.get("query")
    variables = payload.get("variables") or {}
    op = payload.get("operationName")
    if not isinstance(query, str) or not isinstance(variables, dict):
        return SafeJSONResponse({"errors": [{"message": "`query` must be a string"}]}, 400)
    if op is not None and not isinstance(op, str):
        return SafeJSONResponse({"errors": [{"message": "`operationName` must be a string"}]}, 400)
    result = await run_in_threadpool(
        schema.execute,
        query,
        variable_values=variables,
        operation_name=op,
        context_value={"app": request.app},
    )
    body: dict = {"data": result.data}
    if result.errors:
        body["errors"] = [{"message": str(getattr(e, "message", e))} for e in result.errors]
    return SafeJSONResponse(body, status_code=400 if result.data is None and result.errors else 200)
