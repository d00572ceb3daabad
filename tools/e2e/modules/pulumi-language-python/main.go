// Command pulumi-language-python is a small Python language host for the local end-to-end harness.
//
// The upstream host cannot be fetched here, so this one implements the part of the
// LanguageRuntime protocol the harness needs: run a program (or a policy pack) with the
// interpreter of an already prepared virtualenv. It installs nothing, resolves no
// packages up front (the engine then loads providers on demand), and supports only a
// plain virtualenv (toolchain "pip" or unset), not poetry/uv, typecheckers or debugging.
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// execShim is the Python entry point that wires the SDK to the engine and runs the program.
//
//go:embed exec_shim.py
var execShim []byte

// bailExitCode is the exit code by which the SDK entry point says "an error was already
// shown to the user": the engine should fail without adding a message of its own.
const bailExitCode = 32

// analyzerKind is the RunPluginRequest.Kind of a policy pack (apitype.AnalyzerPlugin).
const analyzerKind = "analyzer"

func main() {
	// The engine may pass logging and tracing flags before the engine address.
	fs := flag.NewFlagSet("pulumi-language-python", flag.ContinueOnError)
	fs.String("tracing", "", "tracing endpoint (ignored)")
	fs.Bool("logtostderr", false, "log to stderr (ignored)")
	fs.Bool("logflow", false, "flow logging settings (ignored)")
	fs.Int("v", 0, "log verbosity (ignored)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if *showVersion {
		fmt.Println(hostVersion())
		return
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	done := make(chan bool)
	go func() { <-ctx.Done(); close(done) }()

	host := newHost()
	if args := fs.Args(); len(args) > 0 {
		if err := host.attachEngine(ctx, args[len(args)-1], stop); err != nil {
			fatal(err)
		}
	}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: done,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		fatal(fmt.Errorf("could not start the language host: %w", err))
	}
	// The engine reads this first line of stdout to find us.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fatal(fmt.Errorf("language host stopped serving: %w", err))
	}
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "error: %v\n", err)
	os.Exit(1)
}

// hostVersion reports the SDK version this host was built against.
func hostVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/pulumi/pulumi/sdk/v3" {
				return strings.TrimPrefix(dep.Version, "v")
			}
		}
	}
	return "3.274.1"
}

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	mu     sync.Mutex
	engine string

	// stopRuns is closed by Cancel: running programs get SIGINT.
	stopCtx  context.Context
	stopRuns context.CancelFunc
}

func newHost() *host {
	ctx, cancel := context.WithCancel(context.Background())
	return &host{stopCtx: ctx, stopRuns: cancel}
}

// attachEngine records the engine address and exits this process (via stop) once the engine goes away.
func (h *host) attachEngine(ctx context.Context, addr string, stop context.CancelFunc) error {
	h.mu.Lock()
	h.engine = addr
	h.mu.Unlock()
	if err := rpcutil.Healthcheck(ctx, addr, 5*time.Minute, stop); err != nil {
		return fmt.Errorf("could not watch the engine at %s: %w", addr, err)
	}
	return nil
}

func (h *host) engineAddress() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.engine
}

func (h *host) Handshake(ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" && req.GetEngineAddress() != h.engineAddress() {
		// A handshake arrives when the engine attached to us rather than starting us with its address.
		if err := h.attachEngine(context.Background(), req.GetEngineAddress(), func() { os.Exit(0) }); err != nil {
			return nil, err
		}
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: hostVersion()}, nil
}

// GetRequiredPlugins and GetRequiredPackages report nothing: the engine then loads each
// provider when the program first registers one of its resources.
func (h *host) GetRequiredPlugins(context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *host) GetRequiredPackages(context.Context, *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

// InstallDependencies installs nothing: the harness prepares every virtualenv beforehand.
func (h *host) InstallDependencies(*pulumirpc.InstallDependenciesRequest,
	pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	return nil
}

func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.stopRuns()
	return &emptypb.Empty{}, nil
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	if info == nil {
		return nil, status.Error(codes.InvalidArgument, "RunRequest has no program info")
	}
	py, err := resolvePython(info, false)
	if err != nil {
		return nil, err
	}

	shim, err := os.CreateTemp("", "pulumi-language-python-exec-*.py")
	if err != nil {
		return nil, err
	}
	defer os.Remove(shim.Name())
	if _, err := shim.Write(execShim); err != nil {
		shim.Close()
		return nil, err
	}
	if err := shim.Close(); err != nil {
		return nil, err
	}

	program := info.GetEntryPoint()
	if program == "" {
		program = "."
	}
	if !filepath.IsAbs(program) {
		program = filepath.Join(info.GetProgramDirectory(), program)
	}
	args := []string{shim.Name()}
	flagArg := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	flagArg("monitor", req.GetMonitorAddress())
	flagArg("engine", h.engineAddress())
	flagArg("project", req.GetProject())
	flagArg("stack", req.GetStack())
	flagArg("pwd", req.GetPwd())
	flagArg("dry_run", strconv.FormatBool(req.GetDryRun()))
	flagArg("parallel", strconv.Itoa(int(req.GetParallel())))
	flagArg("organization", req.GetOrganization())
	flagArg("root_directory", info.GetRootDirectory())
	args = append(args, program)
	args = append(args, req.GetArgs()...)

	config, err := json.Marshal(orEmpty(req.GetConfig()))
	if err != nil {
		return nil, err
	}
	secretKeys, err := json.Marshal(orNone(req.GetConfigSecretKeys()))
	if err != nil {
		return nil, err
	}

	// Stop on the Cancel RPC or when the engine abandons the request.
	runCtx, cancel := context.WithCancel(h.stopCtx)
	defer cancel()
	context.AfterFunc(ctx, cancel)

	cmd := exec.CommandContext(runCtx, py.exe, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.Env = append(py.env,
		"PULUMI_CONFIG="+string(config),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretKeys))

	err = cmd.Run()
	// The engine reads our stdout/stderr; make sure a fast crash's output is not lost.
	_ = os.Stdout.Sync()
	_ = os.Stderr.Sync()
	if err == nil {
		return &pulumirpc.RunResponse{}, nil
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("could not start the Python program with %s: %v", py.exe, err),
		}, nil
	}
	if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return &pulumirpc.RunResponse{Error: "program was stopped by signal " + ws.Signal().String()}, nil
	}
	if exitErr.ExitCode() == bailExitCode {
		return &pulumirpc.RunResponse{Bail: true}, nil
	}
	return &pulumirpc.RunResponse{
		Error: fmt.Sprintf("program exited with non-zero exit code: %d", exitErr.ExitCode()),
	}, nil
}

// RunPlugin runs a Python plugin from its directory. A policy pack (kind "analyzer") runs as
// `python -u -m pulumi.policy <engine args> <pack dir>` from the pack's directory; the SDK's
// policy proxy answers the engine's ConfigureStack first so that the pack starts with the
// stack's project, stack, organization, dry-run flag and config in its environment, as older
// policy libraries expect. Any other plugin runs as `python <plugin dir> <args>`.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	ctx := server.Context()
	info := req.GetInfo()
	if info == nil {
		return status.Error(codes.InvalidArgument, "RunPluginRequest has no program info")
	}
	if req.GetAttachDebugger() {
		return status.Error(codes.Unimplemented, "this language host cannot attach a debugger")
	}
	isPolicy := req.GetKind() == analyzerKind
	py, err := resolvePython(info, !isPolicy)
	if err != nil {
		return err
	}

	var args []string
	dir := req.GetPwd()
	if isPolicy {
		args = append([]string{"-u", "-m", "pulumi.policy"}, req.GetArgs()...)
		args = append(args, info.GetProgramDirectory())
		dir = info.GetProgramDirectory()
	} else {
		args = append([]string{info.GetProgramDirectory()}, req.GetArgs()...)
	}
	cmd := exec.CommandContext(ctx, py.exe, args...)
	cmd.Dir = dir
	cmd.Env = py.env

	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()

	// The engine's environment for the plugin, except for what would undo the virtualenv.
	cmd.Env = append(cmd.Env, withoutKeys(req.GetEnv(), "PATH", "VIRTUAL_ENV", "PYTHONHOME")...)

	var proxy *sdk.PolicyProxy
	if isPolicy {
		// The proxy prints its own port on the real stdout and hands us the writer the
		// pack's stdout must go to, so that it can pick the pack's port from it.
		proxy, stdout, err = sdk.NewPolicyProxy(ctx, stdout)
		if err != nil {
			return fmt.Errorf("could not start the policy pack proxy: %w", err)
		}
		stack, err := proxy.AwaitConfiguration(ctx)
		if err != nil {
			return fmt.Errorf("could not get the stack configuration for the policy pack: %w", err)
		}
		if stack != nil {
			cmd.Env = append(cmd.Env, "PULUMI_DRY_RUN="+strconv.FormatBool(stack.GetDryRun()))
			for k, v := range map[string]string{
				"PULUMI_ORGANIZATION": stack.GetOrganization(),
				"PULUMI_PROJECT":      stack.GetProject(),
				"PULUMI_STACK":        stack.GetStack(),
			} {
				if v != "" {
					cmd.Env = append(cmd.Env, k+"="+v)
				}
			}
			if cfg := stack.GetConfig(); cfg != nil {
				b, err := json.Marshal(cfg)
				if err != nil {
					return err
				}
				cmd.Env = append(cmd.Env, "PULUMI_CONFIG="+string(b))
			}
		}
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr

	if err := cmd.Start(); err != nil {
		if proxy != nil {
			proxy.Abort(err)
		}
		return fmt.Errorf("could not start %s: %w", py.exe, err)
	}
	if proxy != nil {
		err = proxy.Attach(ctx, cmd) // waits for the pack to exit
	} else {
		err = cmd.Wait()
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return server.Send(&pulumirpc.RunPluginResponse{
			Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(exitErr.ExitCode())},
		})
	}
	if err != nil {
		return fmt.Errorf("plugin %s failed: %w", req.GetName(), err)
	}
	return closer.Close()
}

func (h *host) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	info := req.GetInfo()
	if info == nil {
		info = &pulumirpc.ProgramInfo{}
	}
	py, err := resolvePython(info, false)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, py.exe, "-c",
		"import sys; print(sys.executable); print('%d.%d.%d' % sys.version_info[:3])")
	cmd.Env = py.env
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("could not ask %s for its version: %w", py.exe, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	resp := &pulumirpc.AboutResponse{
		Executable: lines[0],
		Metadata:   map[string]string{"toolchain": "pip", "virtualenv": py.venv},
	}
	if len(lines) > 1 {
		resp.Version = lines[1]
	}
	return resp, nil
}

// GetProgramDependencies lists the virtualenv's distributions with pip.
func (h *host) GetProgramDependencies(ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	info := req.GetInfo()
	if info == nil {
		return &pulumirpc.GetProgramDependenciesResponse{}, nil
	}
	py, err := resolvePython(info, false)
	if err != nil {
		return nil, err
	}
	args := []string{"-m", "pip", "list", "--format=json", "--disable-pip-version-check"}
	if !req.GetTransitiveDependencies() {
		args = append(args, "--not-required")
	}
	cmd := exec.CommandContext(ctx, py.exe, args...)
	cmd.Env = py.env
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("pip list failed: %w", err)
	}
	var pkgs []struct{ Name, Version string }
	if err := json.Unmarshal(out, &pkgs); err != nil {
		return nil, fmt.Errorf("could not read pip's package list: %w", err)
	}
	resp := &pulumirpc.GetProgramDependenciesResponse{}
	for _, p := range pkgs {
		resp.Dependencies = append(resp.Dependencies, &pulumirpc.DependencyInfo{Name: p.Name, Version: p.Version})
	}
	return resp, nil
}

// python is the interpreter a program or plugin runs with, and the environment to run it in.
type python struct {
	exe  string
	venv string // empty: no virtualenv, the interpreter found on PATH
	env  []string
}

// resolvePython picks the interpreter from the runtime options of Pulumi.yaml, PulumiPlugin.yaml
// or PulumiPolicy.yaml: the `virtualenv` option, relative to the project's root directory. Plugins
// other than policy packs default to a virtualenv named "venv", as with the upstream host.
func resolvePython(info *pulumirpc.ProgramInfo, isPlugin bool) (*python, error) {
	opts := info.GetOptions().AsMap()
	if tc, ok := opts["toolchain"]; ok && tc != "pip" {
		return nil, fmt.Errorf("runtime option toolchain: %v is not supported by this language host "+
			"(only a plain virtualenv, toolchain pip)", tc)
	}
	if tc, ok := opts["typechecker"]; ok {
		return nil, fmt.Errorf("runtime option typechecker: %v is not supported by this language host", tc)
	}
	venv := ""
	if v, ok := opts["virtualenv"]; ok {
		s, isString := v.(string)
		if !isString {
			return nil, errors.New("runtime option virtualenv must be a string")
		}
		venv = s
	}
	if venv == "" && isPlugin {
		venv = "venv"
	}

	if venv == "" {
		exe := os.Getenv("PULUMI_PYTHON_CMD")
		if exe == "" {
			exe = "python3"
		}
		path, err := exec.LookPath(exe)
		if err != nil {
			return nil, fmt.Errorf("no virtualenv configured and %s is not on PATH: %w", exe, err)
		}
		return &python{exe: path, env: os.Environ()}, nil
	}

	if !filepath.IsAbs(venv) {
		root := info.GetRootDirectory()
		if root == "" {
			root = info.GetProgramDirectory()
		}
		venv = filepath.Join(root, venv)
	}
	exe := filepath.Join(venv, "bin", "python")
	if _, err := os.Stat(exe); err != nil {
		return nil, fmt.Errorf("the virtualenv %s has no bin/python (this language host installs nothing: "+
			"create it with `python3 -m venv` and install the requirements first): %w", venv, err)
	}
	env := withoutKeys(os.Environ(), "PATH", "VIRTUAL_ENV", "PYTHONHOME")
	env = append(env,
		"PATH="+filepath.Join(venv, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"),
		"VIRTUAL_ENV="+venv)
	return &python{exe: exe, venv: venv, env: env}, nil
}

// withoutKeys drops the KEY=value entries whose key is one of keys.
func withoutKeys(env []string, keys ...string) []string {
	out := make([]string, 0, len(env))
next:
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		for _, drop := range keys {
			if k == drop {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func orNone(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
