// Command pulumi-resource-random is a stand-in for the pulumi-random provider in the local
// end-to-end harness, where the real provider cannot be fetched.
//
// It implements one resource, random:index/randomPassword:RandomPassword, with the inputs the
// pulumi_random 4.21.4 Python SDK sends (length, lower, upper, numeric, number, special,
// overrideSpecial, minLower, minUpper, minNumeric, minSpecial, keepers). The password is drawn
// from crypto/rand and returned, with its bcrypt hash, as secret outputs next to the inputs.
// Any change of an input replaces the resource, as with the real provider.
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"math/big"
	"os"
	"sort"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

const (
	version      = "4.21.4"
	passwordType = "random:index/randomPassword:RandomPassword"
	// The real provider's RandomPassword id is the constant "none".
	passwordID = "none"

	lowerChars   = "abcdefghijklmnopqrstuvwxyz"
	upperChars   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	numericChars = "0123456789"
	specialChars = "!@#$%&*()-_=+[]{}<>:?"
)

// boolInputs default to true, intInputs to 0 (length has no default: it is required).
var (
	boolInputs = []string{"lower", "upper", "numeric", "number", "special"}
	intInputs  = []string{"minLower", "minUpper", "minNumeric", "minSpecial"}
	inputKeys  = append(append([]string{"length", "overrideSpecial", "keepers"}, boolInputs...), intInputs...)
)

func main() {
	fs := flag.NewFlagSet("pulumi-resource-random", flag.ContinueOnError)
	fs.String("tracing", "", "tracing endpoint (ignored)")
	fs.Bool("logtostderr", false, "log to stderr (ignored)")
	fs.Bool("logflow", false, "flow logging settings (ignored)")
	fs.Int("v", 0, "log verbosity (ignored)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}

	done := make(chan bool)
	if args := fs.Args(); len(args) > 0 {
		// Exit when the engine that started us goes away.
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-ctx.Done(); close(done) }()
		if err := rpcutil.Healthcheck(ctx, args[len(args)-1], 5*time.Minute, cancel); err != nil {
			fmt.Fprintf(os.Stderr, "error: could not watch the engine: %v\n", err)
			os.Exit(1)
		}
	}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: done,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterResourceProviderServer(srv, &provider{})
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}

type provider struct {
	pulumirpc.UnimplementedResourceProviderServer
}

var (
	unmarshalOpts = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipNulls: true}
	marshalOpts   = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true}
)

func (p *provider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (p *provider) Handshake(context.Context, *pulumirpc.ProviderHandshakeRequest,
) (*pulumirpc.ProviderHandshakeResponse, error) {
	return &pulumirpc.ProviderHandshakeResponse{AcceptSecrets: true}, nil
}

func (p *provider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: schema}, nil
}

// The provider takes no configuration.
func (p *provider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *provider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *provider) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true}, nil
}

func (p *provider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func checkType(t string) error {
	if t != passwordType {
		return status.Errorf(codes.InvalidArgument, "unknown resource type %q: this stand-in provider only has %s",
			t, passwordType)
	}
	return nil
}

// typeOf takes the type from the request, or from the URN for engines that do not send it.
func typeOf(t, urn string) string {
	if t != "" {
		return t
	}
	if u, err := resource.ParseURN(urn); err == nil {
		return string(u.Type())
	}
	return ""
}

// Check applies the real provider's defaults and validates the inputs.
func (p *provider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if err := checkType(typeOf(req.GetType(), req.GetUrn())); err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), unmarshalOpts)
	if err != nil {
		return nil, err
	}
	for _, k := range boolInputs {
		if _, ok := news[resource.PropertyKey(k)]; !ok {
			news[resource.PropertyKey(k)] = resource.NewBoolProperty(true)
		}
	}
	for _, k := range intInputs {
		if _, ok := news[resource.PropertyKey(k)]; !ok {
			news[resource.PropertyKey(k)] = resource.NewNumberProperty(0)
		}
	}
	var failures []*pulumirpc.CheckFailure
	if !news.ContainsUnknowns() {
		if _, err := settingsOf(news); err != nil {
			failures = append(failures, &pulumirpc.CheckFailure{Property: err.property, Reason: err.reason})
		}
	}
	inputs, err := plugin.MarshalProperties(news, marshalOpts)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: inputs, Failures: failures}, nil
}

// Diff replaces the resource when any input changed.
func (p *provider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	if err := checkType(typeOf(req.GetType(), req.GetUrn())); err != nil {
		return nil, err
	}
	oldsStruct := req.GetOldInputs()
	if oldsStruct == nil {
		oldsStruct = req.GetOlds()
	}
	olds, err := plugin.UnmarshalProperties(oldsStruct, unmarshalOpts)
	if err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), unmarshalOpts)
	if err != nil {
		return nil, err
	}
	ignored := map[string]bool{}
	for _, k := range req.GetIgnoreChanges() {
		ignored[k] = true
	}
	var replaces []string
	detailed := map[string]*pulumirpc.PropertyDiff{}
	for _, k := range inputKeys {
		if ignored[k] {
			continue
		}
		o, hasOld := olds[resource.PropertyKey(k)]
		n, hasNew := news[resource.PropertyKey(k)]
		switch {
		case !hasOld && !hasNew:
			continue
		case hasOld && hasNew && !n.ContainsUnknowns() && plain(o).DeepEquals(plain(n)):
			continue
		case !hasOld:
			detailed[k] = &pulumirpc.PropertyDiff{Kind: pulumirpc.PropertyDiff_ADD_REPLACE, InputDiff: true}
		case !hasNew:
			detailed[k] = &pulumirpc.PropertyDiff{Kind: pulumirpc.PropertyDiff_DELETE_REPLACE, InputDiff: true}
		default:
			detailed[k] = &pulumirpc.PropertyDiff{Kind: pulumirpc.PropertyDiff_UPDATE_REPLACE, InputDiff: true}
		}
		replaces = append(replaces, k)
	}
	if len(replaces) == 0 {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE, HasDetailedDiff: true}, nil
	}
	sort.Strings(replaces)
	return &pulumirpc.DiffResponse{
		Changes:         pulumirpc.DiffResponse_DIFF_SOME,
		Replaces:        replaces,
		Diffs:           replaces,
		DetailedDiff:    detailed,
		HasDetailedDiff: true,
	}, nil
}

func (p *provider) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if err := checkType(typeOf(req.GetType(), req.GetUrn())); err != nil {
		return nil, err
	}
	inputs, err := plugin.UnmarshalProperties(req.GetProperties(), unmarshalOpts)
	if err != nil {
		return nil, err
	}
	outputs := inputs.Copy()
	if req.GetPreview() || inputs.ContainsUnknowns() {
		unknown := resource.MakeComputed(resource.NewStringProperty(""))
		outputs["result"], outputs["bcryptHash"] = unknown, unknown
	} else {
		s, cerr := settingsOf(inputs)
		if cerr != nil {
			return nil, status.Errorf(codes.InvalidArgument, "%s: %s", cerr.property, cerr.reason)
		}
		password, err := generate(s)
		if err != nil {
			return nil, err
		}
		hash, err := hashOf(password)
		if err != nil {
			return nil, err
		}
		outputs["result"] = resource.MakeSecret(resource.NewStringProperty(password))
		outputs["bcryptHash"] = resource.MakeSecret(resource.NewStringProperty(hash))
	}
	props, err := plugin.MarshalProperties(outputs, marshalOpts)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: passwordID, Properties: props}, nil
}

// Read returns the recorded state: a password has nothing outside the state to refresh from.
func (p *provider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	if err := checkType(typeOf(req.GetType(), req.GetUrn())); err != nil {
		return nil, err
	}
	inputs := req.GetInputs()
	if inputs == nil {
		// An import: take the inputs back out of the state.
		state, err := plugin.UnmarshalProperties(req.GetProperties(), unmarshalOpts)
		if err != nil {
			return nil, err
		}
		in := resource.PropertyMap{}
		for _, k := range inputKeys {
			if v, ok := state[resource.PropertyKey(k)]; ok {
				in[resource.PropertyKey(k)] = v
			}
		}
		if inputs, err = plugin.MarshalProperties(in, marshalOpts); err != nil {
			return nil, err
		}
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: inputs}, nil
}

// Update only happens for changes Diff does not report (none today): keep the password, take the new inputs.
func (p *provider) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	if err := checkType(typeOf(req.GetType(), req.GetUrn())); err != nil {
		return nil, err
	}
	olds, err := plugin.UnmarshalProperties(req.GetOlds(), unmarshalOpts)
	if err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), unmarshalOpts)
	if err != nil {
		return nil, err
	}
	outputs := news.Copy()
	for _, k := range []resource.PropertyKey{"result", "bcryptHash"} {
		if v, ok := olds[k]; ok {
			outputs[k] = v
		}
	}
	props, err := plugin.MarshalProperties(outputs, marshalOpts)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

// Delete has nothing to remove outside the state.
func (p *provider) Delete(_ context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	if err := checkType(typeOf(req.GetType(), req.GetUrn())); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// plain strips secret markers, so that a value that became secret compares equal to itself.
func plain(v resource.PropertyValue) resource.PropertyValue {
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v
}

// settings is what the generator honours, taken from the checked inputs.
type settings struct {
	length                                 int
	lower, upper, numeric, special         bool
	minLower, minUpper, minNumeric, minSpc int
	specials                               string
}

type inputError struct{ property, reason string }

func settingsOf(in resource.PropertyMap) (*settings, *inputError) {
	num := func(k string, def int) (int, *inputError) {
		v, ok := in[resource.PropertyKey(k)]
		if !ok {
			return def, nil
		}
		if v = plain(v); !v.IsNumber() || v.NumberValue() != float64(int(v.NumberValue())) {
			return 0, &inputError{k, "must be an integer"}
		}
		if v.NumberValue() < 0 {
			return 0, &inputError{k, "must not be negative"}
		}
		return int(v.NumberValue()), nil
	}
	flag := func(k string) (bool, *inputError) {
		v, ok := in[resource.PropertyKey(k)]
		if !ok {
			return true, nil
		}
		if v = plain(v); !v.IsBool() {
			return false, &inputError{k, "must be a boolean"}
		}
		return v.BoolValue(), nil
	}
	s := &settings{specials: specialChars}
	var err *inputError
	if _, ok := in["length"]; !ok {
		return nil, &inputError{"length", "missing required property 'length'"}
	}
	if s.length, err = num("length", 0); err != nil {
		return nil, err
	}
	for k, dst := range map[string]*bool{"lower": &s.lower, "upper": &s.upper, "special": &s.special} {
		if *dst, err = flag(k); err != nil {
			return nil, err
		}
	}
	// `number` is the deprecated spelling of `numeric`: either set to false turns digits off.
	numeric, err := flag("numeric")
	if err != nil {
		return nil, err
	}
	number, err := flag("number")
	if err != nil {
		return nil, err
	}
	s.numeric = numeric && number
	for k, dst := range map[string]*int{
		"minLower": &s.minLower, "minUpper": &s.minUpper, "minNumeric": &s.minNumeric, "minSpecial": &s.minSpc,
	} {
		if *dst, err = num(k, 0); err != nil {
			return nil, err
		}
	}
	if v, ok := in["overrideSpecial"]; ok {
		if v = plain(v); !v.IsString() {
			return nil, &inputError{"overrideSpecial", "must be a string"}
		}
		s.specials = v.StringValue()
	}
	if s.length < 1 {
		return nil, &inputError{"length", "must be at least 1"}
	}
	if mins := s.minLower + s.minUpper + s.minNumeric + s.minSpc; s.length < mins {
		return nil, &inputError{"length", fmt.Sprintf("must be >= minUpper + minLower + minNumeric + minSpecial (%d)", mins)}
	}
	if !s.lower && !s.upper && !s.numeric && !(s.special && s.specials != "") {
		return nil, &inputError{"length", "at least one of lower, upper, numeric and special must be true"}
	}
	return s, nil
}

// generate draws the minimum of each enabled class, fills up from all enabled classes, then shuffles.
func generate(s *settings) (string, error) {
	var pool string
	var out []byte
	classes := []struct {
		on    bool
		chars string
		min   int
	}{
		{s.lower, lowerChars, s.minLower},
		{s.upper, upperChars, s.minUpper},
		{s.numeric, numericChars, s.minNumeric},
		{s.special, s.specials, s.minSpc},
	}
	for _, c := range classes {
		if !c.on || c.chars == "" {
			continue
		}
		pool += c.chars
		for range c.min {
			b, err := pick(c.chars)
			if err != nil {
				return "", err
			}
			out = append(out, b)
		}
	}
	for len(out) < s.length {
		b, err := pick(pool)
		if err != nil {
			return "", err
		}
		out = append(out, b)
	}
	for i := len(out) - 1; i > 0; i-- {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return "", err
		}
		out[i], out[j.Int64()] = out[j.Int64()], out[i]
	}
	return string(out), nil
}

func pick(chars string) (byte, error) {
	i, err := rand.Int(rand.Reader, big.NewInt(int64(len(chars))))
	if err != nil {
		return 0, err
	}
	return chars[i.Int64()], nil
}

// hashOf is the bcrypt hash of the password's first 72 bytes (bcrypt's limit), as the real provider does.
func hashOf(password string) (string, error) {
	b := []byte(password)
	if len(b) > 72 {
		b = b[:72]
	}
	h, err := bcrypt.GenerateFromPassword(b, bcrypt.DefaultCost)
	return string(h), err
}
