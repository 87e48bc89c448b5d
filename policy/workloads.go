package policy

import "github.com/baseguard/baseguard/subject"

// compileWorkloads validates a policy's spec.workloads.
func compileWorkloads(p *Policy, fail loadFailure) ([]subject.Workload, error) {
	var out []subject.Workload
	for i, w := range p.Spec.Workloads {
		sw, err := subject.ParseWorkload(w.APIVersion, w.Kind, w.TemplatePath)
		if err != nil {
			return nil, fail.at(0, "spec.workloads[%d]: %v", i, err)
		}
		out = append(out, sw)
	}
	return out, nil
}

// Workloads returns the kinds with pod templates that the set's policies
// declare (spec.workloads), for subject.Options.
func (s *Set) Workloads() []subject.Workload {
	var out []subject.Workload
	for _, cp := range s.policies {
		out = append(out, cp.workloads...)
	}
	return out
}
