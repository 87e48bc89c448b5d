package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/baseguard/baseguard/policy/crd"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
)

// maxMessage bounds a condition's message (a load error quoting a long
// field list): the status stays small.
const maxMessage = 4 << 10

// objectStatus is the status an entry calls for, given the conflict that
// leaves its policy out (empty: none), built on the current status so that
// the Ready condition keeps its transition time while it holds.
func objectStatus(cur crd.Status, e *objectEntry, conflict string) crd.Status {
	st := crd.Status{ObservedGeneration: e.generation, Conditions: append([]metav1.Condition(nil), cur.Conditions...)}
	cond := metav1.Condition{Type: crd.ConditionReady, Status: metav1.ConditionFalse, ObservedGeneration: e.generation}
	switch {
	case conflict != "":
		cond.Reason, cond.Message = crd.ReasonNameConflict, "not in force: "+conflict
	case e.err == nil:
		st.Rules, st.Notes = int64(len(e.good.policy.Spec.Rules)), e.good.notes
		cond.Status, cond.Reason = metav1.ConditionTrue, crd.ReasonInForce
		cond.Message = fmt.Sprintf("generation %d is in force: %s", e.generation, describeRules(len(e.good.policy.Spec.Rules)))
	default:
		cond.Reason, cond.Message = crd.ReasonInvalid, fmt.Sprintf("generation %d does not load: %s", e.generation, oneLine(e.err.Reason()))
		if e.err.NotApplied {
			cond.Reason, cond.Message = crd.ReasonNotApplied, fmt.Sprintf("generation %d is not applied: %s", e.generation, oneLine(e.err.Reason()))
		}
		if g := e.good; g != nil {
			cond.Message += fmt.Sprintf("; generation %d stays in force", g.generation)
			st.Rules, st.Notes = int64(len(g.policy.Spec.Rules)), g.notes
			st.InForce = &crd.InForce{Generation: g.generation, Spec: g.spec}
		} else {
			cond.Message += "; nothing of it is in force"
		}
	}
	if len(cond.Message) > maxMessage {
		cond.Message = cond.Message[:maxMessage-3] + "..."
	}
	meta.SetStatusCondition(&st.Conditions, cond)
	return st
}

// currentStatus reads an object's status as serve wrote it.
func currentStatus(u *unstructured.Unstructured) crd.Status {
	var st crd.Status
	if raw, ok := u.Object["status"]; ok {
		if data, err := json.Marshal(raw); err == nil {
			json.Unmarshal(data, &st)
		}
	}
	return st
}

// sameStatus compares statuses as they are written.
func sameStatus(a, b crd.Status) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// writeStatus replaces u's status with st.
func writeStatus(ctx context.Context, client dynamic.Interface, key objectKey, u *unstructured.Unstructured, st crd.Status) error {
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("writing the status of %s: %w", key, err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("writing the status of %s: %w", key, err)
	}
	u = u.DeepCopy()
	u.Object["status"] = m
	if _, err := client.Resource(resourceOf(key)).UpdateStatus(ctx, u, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("writing the status of %s: %w", key, err)
	}
	return nil
}
