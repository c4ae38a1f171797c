#pragma once
// The subcommands of the `wangge` executable, one file each
// (tools/cmd_<name>.cpp). Each returns the process exit status:
// 0 ok, 1 failure (message on stderr), 2 bad arguments (usage on stderr).

namespace wangge::tools {

int RunLocate(int argc, char** argv);
int RunGenSample(int argc, char** argv);
int RunRoute(int argc, char** argv);
int RunInit(int argc, char** argv);
int RunImport(int argc, char** argv);
int RunVersions(int argc, char** argv);
int RunDiff(int argc, char** argv);
int RunServe(int argc, char** argv);
int RunUser(int argc, char** argv);
int RunExport(int argc, char** argv);
int RunValidate(int argc, char** argv);
int RunBench(int argc, char** argv);
int RunAudit(int argc, char** argv);

}  // namespace wangge::tools
