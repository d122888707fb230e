package main

import (
	"context"
	"errors"

	"github.com/databricks/databricks-sdk-go/service/iam"
	"github.com/neural-dsl/neural-host/sdk"
)

// CheckAuth asks the workspace who the credentials belong to
// (SCIM Me), then checks that the staging directory can be read.
func (p *Platform) CheckAuth(ctx context.Context) (sdk.AuthInfo, error) {
	s := p.settings()
	ws, err := p.client()
	if err != nil {
		return sdk.AuthInfo{}, err
	}
	me, err := ws.me.Me(ctx, iam.MeRequest{})
	if err != nil {
		err = s.wrap(err, "who am I")
		var se *sdk.Error
		if errors.As(err, &se) && se.Hint == "" {
			c := *se
			c.Hint = authHint
			err = &c
		}
		return sdk.AuthInfo{}, err
	}
	host := consoleBase(ws.cfg)
	info := sdk.AuthInfo{Identity: me.UserName, Account: host, Diagnostics: []sdk.Diagnostic{
		{Check: "workspace", OK: true, Message: host},
		{Check: "credentials", OK: true, Message: "auth type " + ws.cfg.AuthType},
	}}
	if info.Identity == "" {
		info.Identity = me.DisplayName
	}
	staging, _ := parseLocation(s.stagingDir)
	d := sdk.Diagnostic{Check: "staging directory", OK: true, Message: staging.String()}
	if _, err := ws.stat(ctx, staging); err != nil && !notFound(err) {
		d = sdk.Diagnostic{Check: "staging directory", Message: s.wrap(err, staging.String()).Error(),
			Hint: "set NEURAL_DATABRICKS_STAGING_DIR to a DBFS path or volume these credentials can write"}
	} else if err != nil {
		d.Message += " (created on first submit)"
	}
	info.Diagnostics = append(info.Diagnostics, d)
	return info, nil
}
