{{/* The name of the chart's objects. */}}
{{- define "baseguard.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels that select the webhook's pods. */}}
{{- define "baseguard.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "baseguard.labels" -}}
{{ include "baseguard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "baseguard.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "baseguard.fullname" .)) .Values.tls.secretName -}}
{{- end -}}

{{/* How the serving certificate is made: certManager, secret (your own), or self (baseguard keeps it). */}}
{{- define "baseguard.certMode" -}}
{{- if .Values.certManager.enabled -}}certManager
{{- else if .Values.tls.caBundle -}}secret
{{- else -}}self
{{- end -}}
{{- end -}}

{{- define "baseguard.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}


{{/* The rules of both webhooks: every kind baseguard reads a pod template from. */}}
{{- define "baseguard.webhookRules" -}}
- apiGroups: [""]
  apiVersions: [v1]
  operations: [CREATE, UPDATE]
  resources: [pods, pods/ephemeralcontainers, replicationcontrollers, podtemplates]
  scope: Namespaced
- apiGroups: [apps]
  apiVersions: [v1]
  operations: [CREATE, UPDATE]
  resources: [deployments, replicasets, statefulsets, daemonsets]
  scope: Namespaced
- apiGroups: [batch]
  apiVersions: [v1]
  operations: [CREATE, UPDATE]
  resources: [jobs, cronjobs]
  scope: Namespaced
# Workload CRDs whose pod templates baseguard knows; a rule for a
# resource the cluster does not serve matches nothing.
{{- range $group, $resources := dict "argoproj.io" (list "rollouts") "serving.knative.dev" (list "services" "configurations") "keda.sh" (list "scaledjobs") "apps.kruise.io" (list "clonesets" "statefulsets" "daemonsets") "apps.openshift.io" (list "deploymentconfigs") }}
- apiGroups: [{{ $group | quote }}]
  apiVersions: ["*"]
  operations: [CREATE, UPDATE]
  resources: [{{ join ", " $resources }}]
  scope: "*"
{{- end }}
# OpenShift 3 served DeploymentConfigs in the core group.
- apiGroups: [""]
  apiVersions: [v1]
  operations: [CREATE, UPDATE]
  resources: [deploymentconfigs]
  scope: Namespaced
{{- range .Values.webhook.workloads }}
- apiGroups: [{{ .apiGroup | quote }}]
  apiVersions: ["*"]
  operations: [CREATE, UPDATE]
  resources: [{{ required "webhook.workloads[].resource is required" .resource }}]
  scope: "*"
{{- end }}
{{- end -}}
