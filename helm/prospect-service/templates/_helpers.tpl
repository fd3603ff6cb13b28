{{/* The chart's name, cut to 63 characters (a label value). */}}
{{- define "ps.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's full name: <release>-<chart> unless the release name holds the chart name. */}}
{{- define "ps.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "ps.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "ps.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "ps.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ps.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The server pods (the migration Job's pods carry component=migration instead). */}}
{{- define "ps.serverSelectorLabels" -}}
{{ include "ps.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end -}}

{{- define "ps.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ps.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "ps.image" -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}

{{- define "ps.secretName" -}}
{{- default (printf "%s-secrets" (include "ps.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* terminationGracePeriodSeconds: longer than the drain delay and the grace together, so that
     Kubernetes never kills a replica that is still finishing accepted calls. */}}
{{- define "ps.terminationGracePeriodSeconds" -}}
{{- add (div (add .Values.server.drainDelayMs .Values.server.graceMs 999) 1000) 10 -}}
{{- end -}}

{{/* The authorization policy: values.authz.policy, else files/authz-policy.json with the callers'
     identities filled in. */}}
{{- define "ps.authzPolicy" -}}
{{- if .Values.authz.policy -}}
{{ .Values.authz.policy }}
{{- else -}}
{{ tpl (.Files.Get "files/authz-policy.json") . }}
{{- end -}}
{{- end -}}

{{/* The restricted Pod Security Standard, for every container. */}}
{{- define "ps.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "ps.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}
