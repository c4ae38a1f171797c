#pragma once
// Intake: a report from a phone becomes a case — validated, located, routed
// and stored durably in one transaction, exactly once per idempotency key.
//
// The same key with the same report returns the stored case (existed =
// true) and creates nothing; the same key with a different report is
// kConflict. A report outside every cell is accepted and flagged (triage).
//
//   auto in = SubmitReport(store, town, user, report, key, now);
//   if (!in) return in.error();  // kInvalidArgument names the field
//   Reply(in->existed ? 200 : 201, in->record);

#include <optional>
#include <string>

#include "base/result.h"
#include "core/calendar.h"
#include "core/case_writer.h"
#include "core/duplicates.h"
#include "core/router.h"
#include "core/store.h"
#include "core/town.h"
#include "core/workflow.h"

namespace wangge::core {

struct ReportInput {
  std::string category;
  std::string description;
  std::string address;
  std::optional<double> lon;
  std::optional<double> lat;
  std::optional<double> accuracy_m;
  std::string reported_at;  // ISO 8601; "" = now
};

// Parses the JSON body of POST /api/v1/reports; errors name the field.
Result<ReportInput> ParseReport(const std::string& json_body);

// The fingerprint of what a client sent, stored with its case to tell a
// retry (same key, same report) from a reused key: the digest of
// nlohmann's dump() of the fields, keys sorted. Stored, so the text hashed
// must never change.
std::string RequestHash(const ReportInput& report);

struct IntakeResult {
  CaseRecord record;
  bool existed = false;
  // Open cases of the same category nearby (core/duplicates.h); new cases
  // only.
  std::vector<PossibleDuplicate> possible_duplicates;
  // For a new case: the routing it was stored with, so that its answer is
  // written without parsing the stored assignment back.
  struct Routed {
    Assignment assignment;
    spatial::Placement placement;
  };
  std::optional<Routed> routed;
};

// REQUIRES: user is an active account. With `writer`, the case is stored
// through its group commit (the server); else through `store` alone.
Result<IntakeResult> SubmitReport(Store& store, const Town& town,
                                  const User& user, const ReportInput& report,
                                  const std::string& idempotency_key, Time now,
                                  CaseWriter* writer = nullptr);

// The case as the API shows it: fields, placement, assignment (with
// reasons) and, if given, its events.
std::string CaseJson(const CaseRecord& record,
                     const std::vector<CaseEvent>* events = nullptr);
// The intake answer: CaseJson and `possible_duplicates`.
std::string IntakeJson(const IntakeResult& result);
// A routing as a JSON object: category name, kind, lead, branch, committee
// member, grid leader, offices (lead / co), zone members, reasons and
// warnings; kept with each case and printed by `wangge route`.
std::string AssignmentJson(const Assignment& assignment);

}  // namespace wangge::core
