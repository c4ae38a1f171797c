#pragma once
// Workflow: the life of a case from report to evaluation (issue 6), as a
// state machine over an append-only, hash-chained event log.
//
// States: reported 上报, accepted 受理/立案, rejected 不予立案, dispatched
// 派遣, in_progress 处置中, handled 处置反馈, verifying 核查, closed 结案,
// reopened 重新打开. Who may do what, in which state and on which cases, is one
// table (ActionTable()), printed in README by ActionTableMarkdown().
//
// The case row is a projection of its events: Project(intake fields,
// events) gives the stored row, and ApplyAction() produces the new events
// and the new row with the same projection. Each event's hash covers its
// content and the previous event's hash (EventHash()), so a row edited
// behind the application's back breaks the chain (`wangge audit verify`).
//
// Errors of ApplyAction(): kInvalidArgument naming the field; kConflict with
// field "action" for an action the state does not allow now (the caller
// lists AllowedActions()), field "version" for a stale version;
// kPermissionDenied for the role or the scope.
//
// Pure functions except PerformAction() and Tick(), which use the Store;
// all are safe from many threads given one Store per thread.
//
//   auto in = ParseAction(R"({"action": "accept", "version": 1})");
//   auto done = PerformAction(store, town, user, case_id, *in, now);
//   if (!done) return done.error();  // see above
//   Reply(done->record, AllowedActions(done->record, user, town));

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "core/calendar.h"
#include "core/store.h"
#include "core/town.h"

namespace wangge::core {

// The states, in lifecycle order, and the ones a case is still open in.
const std::vector<std::string>& States();
bool IsOpenState(const std::string& status);

// Whose cases a grant covers.
enum class Reach {
  kTown = 1,      // every case
  kCell = 2,      // grid_leader: cells they lead; branch: its cells;
                  // office: its cases and cases it co-handles
  kAssignee = 3,  // the case's assignee
  kReporter = 4,  // who reported the case
  kCoOffice = 5,  // an office called in by 吹哨 that has not reported in
};
const char* ReachName(Reach reach);

struct Grant {
  std::string role;  // a role of core/accounts.h, or "*" for any role
  Reach reach = Reach::kTown;
};

// One row of the role × action × state × scope table.
struct ActionRule {
  std::string action;
  std::string zh;                 // 受理, 派遣, ...
  std::vector<std::string> from;  // states it may be taken in
  std::string to;                 // "" leaves the state as it is
  std::string when;               // extra condition, for README
  std::vector<Grant> who;         // any one of these may take it
  std::string input;              // fields of the request, for README
};
const std::vector<ActionRule>& ActionTable();
// The table as a markdown table (README).
std::string ActionTableMarkdown();

// The body of POST /api/v1/cases/{id}/actions.
struct ActionInput {
  std::string action;
  std::optional<int64_t> version;
  std::string note;
  std::string assignee;  // username: dispatch, reassign
  std::string reason;    // invalid | duplicate | not_ours: reject
  std::optional<int64_t> duplicate_of;
  std::string referral;
  std::vector<std::string> offices;  // escalate
  std::optional<double> hours;       // request_extension (working hours)
  std::optional<bool> passed;        // verify: also pass or fail at once
  std::optional<bool> satisfied;     // confirm
  std::vector<int64_t> attachments;  // handle, comment
  // Filled by PerformAction() from the Store before ApplyAction().
  std::optional<User> assignee_user;
  std::optional<CaseRecord> duplicate_case;
};
// Errors name the field.
Result<ActionInput> ParseAction(const std::string& json_body);

struct Outcome {
  CaseRecord record;              // the new row
  std::vector<CaseEvent> events;  // to append (hashes set by the Store)
};

// The actions `user` may take on `record` now.
std::vector<std::string> AllowedActions(const CaseRecord& record,
                                        const User& user, const Town& town);
// Whether `user` may read `record` (its scope, assignee or co-office).
bool MayRead(const CaseRecord& record, const User& user, const Town& town);
// Narrows `f` to exactly the cases MayRead() lets `user` read: a grid
// leader's or branch's cells, an office's own and co-handled cases, and for
// all three what they reported or are assigned; everyone else sees all.
CaseFilter ScopeTo(const User& user, const Town& town, CaseFilter f);
// The cells a grid leader leads, or a branch account's branch holds; none
// for other roles.
std::vector<std::string> OwnCells(const User& user, const Town& town);

// The new events and row, or an error (see the header comment). `events`
// are the case's events so far.
Result<Outcome> ApplyAction(const CaseRecord& record,
                            const std::vector<CaseEvent>& events,
                            const User& user, const ActionInput& input,
                            const Town& town, Time now);

// Loads the case, resolves the assignee and duplicate case, applies the
// action and stores it with the optimistic version check.
Result<Outcome> PerformAction(Store& store, const Town& town, const User& user,
                              int64_t case_id, ActionInput input, Time now);

// The row the events describe: `base` supplies the intake fields, the
// workflow fields are recomputed. Project(row, Events(row.id)) == row.
CaseRecord Project(CaseRecord base, const std::vector<CaseEvent>& events);
// Applies one event to a row (the step of Project()).
void ApplyEvent(CaseRecord& record, const CaseEvent& event);
// Whether the workflow fields of two rows agree; names the first that
// differs in `field` if not.
bool SameWorkflowFields(const CaseRecord& a, const CaseRecord& b,
                        std::string* field = nullptr);

// Hex BLAKE2b-256 over the event's canonical content and e.prev_hash.
std::string EventHash(const CaseEvent& e);

// The events of one case checked as a chain: the first seq whose hash or
// link is wrong, with why; nullopt if the chain holds.
struct ChainBreak {
  int64_t seq = 0;
  std::string why;
};
std::optional<ChainBreak> VerifyChain(const std::vector<CaseEvent>& events);

// The deadline ticker: open cases past their deadline (accept_by while
// reported, else handle_by) are marked overdue and escalated one level
// (critical categories at least to 镇) by the system actor (id 0). Marks a
// case once per deadline; a new deadline (accept, extension, reopen)
// clears the mark.
struct TickReport {
  int overdue = 0;
  int escalated = 0;
};
Result<TickReport> Tick(Store& store, const Town& town, Time now);

}  // namespace wangge::core
