package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"log"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// soapGuard sits in front of the simulator's ServeMux. It exists because a
// panic inside a vcsim method makes net/http drop the connection, which
// pyVmomi reports as RemoteDisconnected and a driver cannot tell from a dead
// vCenter. The guard buffers each SOAP reply so that it can still answer
// properly when the handler panics or fails half-way:
//
//   - a panicking Fetch (pyVmomi's lazy `obj.attr` read) of an unset property,
//     such as vm.snapshot on a VM without snapshots, answers an empty
//     FetchResponse, so pyVmomi returns None as it does against vCenter;
//   - any other panic becomes a vmodl.fault.SystemError SOAP fault;
//   - a 200 reply with no body (vcsim could not encode a nil result, e.g.
//     RefreshDatastore) becomes the empty response of a void method, or a
//     SystemError for a method that should have returned something.
//
// It also routes the methods vcsim lacks (extension.go), re-derives cluster
// capacity and DVS members after calls that change hosts, records the
// capacity of disks made by CreateVirtualDisk_Task, and keeps descriptors
// in step with disk moves, copies and grows (disk_moves.go, disk_grows.go).
var unsetFetchOnce sync.Once

type soapGuard struct {
	next http.Handler
	ext  *extension
}

func newSOAPGuard(next http.Handler, ext *extension) *soapGuard {
	return &soapGuard{next: next, ext: ext}
}

// soapCall is what the guard needs to know about a request before the
// simulator decodes it.
type soapCall struct {
	Name string
	This types.ManagedObjectReference
}

// Calls after which cluster capacity or DVS membership may have changed
// (refreshInventory, inventory.go).
var inventoryMethods = map[string]bool{
	"AddHost_Task":              true,
	"AddStandaloneHost_Task":    true,
	"Destroy_Task":              true,
	"EnterMaintenanceMode_Task": true,
	"ExitMaintenanceMode_Task":  true,
	"MoveInto_Task":             true,
	"MoveHostInto_Task":         true,
	"MoveIntoFolder_Task":       true,
}

func (g *soapGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	isSDK := r.Method == http.MethodPost && (path == simulator.Map.Path || path == simulator.Map.Path+"/vimService")
	if !isSDK {
		g.serveOther(w, r)
		return
	}

	body, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		http.Error(w, "reading request: "+err.Error(), http.StatusBadRequest)
		return
	}
	call := peekCall(body)
	if g.ext.handles(call) {
		body = g.ext.envelope(body)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))

	buf := &bufferedWriter{header: w.Header(), status: http.StatusOK}
	if p, stack := g.serve(buf, r); p != nil {
		if call.Name == "Fetch" && unsetPropertyPanic(p) {
			// Expected for every lazy read of an unset property: say so
			// once, without a stack.
			unsetFetchOnce.Do(func() {
				log.Printf("Fetch of an unset property answered with an empty FetchResponse (%v); further ones are not logged", p)
			})
			writeSOAP(w, http.StatusOK, emptyResponse("Fetch"))
			return
		}
		log.Printf("recovered panic in %s on %s: %v\n%s", call.Name, call.This, p, stack)
		writeSOAP(w, http.StatusInternalServerError, systemError(fmt.Sprintf("vcsim: %s failed: %v", call.Name, p)))
		return
	}

	if buf.status == http.StatusOK && buf.body.Len() == 0 {
		if isVoidMethod(call.Name) {
			writeSOAP(w, http.StatusOK, emptyResponse(call.Name))
		} else {
			writeSOAP(w, http.StatusInternalServerError, systemError("vcsim: could not encode the result of "+call.Name))
		}
		return
	}

	// The follow-ups run before the reply is sent, so a caller that reads
	// the inventory or a descriptor as soon as its task is done sees them.
	if buf.status == http.StatusOK {
		switch {
		case inventoryMethods[call.Name]:
			refreshInventory()
		case call.Name == "CreateVirtualDisk_Task" && call.This.Type == "VirtualDiskManager":
			recordCreatedDisk(body, buf.body.Bytes())
		case (call.Name == "MoveVirtualDisk_Task" || call.Name == "CopyVirtualDisk_Task") &&
			call.This.Type == "VirtualDiskManager":
			renameCopiedExtent(body, buf.body.Bytes())
		case call.Name == "ReconfigVM_Task" && call.This.Type == "VirtualMachine":
			growEditedExtents(call.This, body, buf.body.Bytes())
		}
	}

	w.WriteHeader(buf.status)
	_, _ = w.Write(buf.body.Bytes())
}

// serveOther passes /folder, /nfc, /about and the rest straight through, only
// turning a panic into a 500 instead of a dropped connection.
func (g *soapGuard) serveOther(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			log.Printf("recovered panic serving %s %s: %v\n%s", r.Method, r.URL.Path, p, debug.Stack())
			http.Error(w, fmt.Sprintf("vcsim: %v", p), http.StatusInternalServerError)
		}
	}()
	g.next.ServeHTTP(w, r)
}

// serve runs the simulator's handler and returns what it panicked with, if
// anything, together with the goroutine's stack taken inside the deferred
// recover: only there does it still show the frames that panicked (after
// serve returns they are gone, and a stack would end in the guard).
func (g *soapGuard) serve(w http.ResponseWriter, r *http.Request) (recovered interface{}, stack []byte) {
	defer func() {
		if recovered = recover(); recovered != nil {
			stack = debug.Stack()
		}
	}()
	g.next.ServeHTTP(w, r)
	return nil, nil
}

// unsetPropertyPanic tells vcsim's Fetch failure on a nil property (it
// indexes an empty MissingSet) from other bugs, which stay SystemErrors.
func unsetPropertyPanic(p interface{}) bool {
	err, ok := p.(error)
	return ok && strings.Contains(err.Error(), "index out of range")
}

// isVoidMethod reports whether the WSDL gives the method no return value, in
// which case an empty <MethodResponse/> is exactly what vCenter sends.
func isVoidMethod(name string) bool {
	return voidMethods[name]
}

// voidMethods: the methods vcsim implements whose vim25 response type is
// empty (govmomi 0.24.2: the `type XResponse struct {}` in vim25/types that
// match a simulator method). govmomi registers no response types at run
// time, so the list is kept here; a method missing from it gets a
// SystemError instead of an empty reply, never a wrong value.
var voidMethods = map[string]bool{
	"AddPortGroup": true, "AddVirtualSwitch": true, "AttachTagToVStorageObject": true,
	"CancelWaitForUpdates": true, "CreateCustomizationSpec": true, "CreateUser": true,
	"DestroyCollector": true, "DestroyIpPool": true, "DestroyPropertyCollector": true,
	"DestroyPropertyFilter": true, "DestroyView": true, "DetachTagFromVStorageObject": true,
	"DisableRuleset": true, "EnableRuleset": true, "HttpNfcLeaseAbort": true,
	"HttpNfcLeaseComplete": true, "HttpNfcLeaseProgress": true, "Logout": true, "MakeDirectory": true,
	"MarkAsTemplate": true, "MarkAsVirtualMachine": true, "OverwriteCustomizationSpec": true,
	"PostEvent": true, "RefreshDatastore": true, "RefreshStorageInfo": true,
	"RefreshStorageSystem": true, "ReleaseIpAllocation": true, "RemoveAuthorizationRole": true,
	"RemoveCustomFieldDef": true, "RemoveEntityPermission": true, "RemoveLicense": true,
	"RemovePortGroup": true, "RemoveUser": true, "RemoveVirtualSwitch": true,
	"RenameCustomFieldDef": true, "RescanAllHba": true, "RescanVmfs": true, "ResetCollector": true,
	"RewindCollector": true, "SetCollectorPageSize": true, "SetCustomValue": true,
	"SetEntityPermissions": true, "SetField": true, "SetVirtualDiskUuid": true, "ShutdownGuest": true,
	"TerminateSession": true, "UnregisterVM": true, "UpdateAuthorizationRole": true,
	"UpdateConfig": true, "UpdateIpPool": true, "UpdateLicenseLabel": true, "UpdateOptions": true,
	"UpdateUser": true,
}

// peekCall reads the method name and _this from a SOAP envelope without
// decoding the arguments.
func peekCall(body []byte) soapCall {
	var call soapCall
	d := xml.NewDecoder(bytes.NewReader(body))
	inBody := false
	for {
		tok, err := d.Token()
		if err != nil {
			return call
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch {
		case !inBody:
			inBody = start.Name.Local == "Body"
		case call.Name == "":
			call.Name = start.Name.Local
		case start.Name.Local == "_this":
			for _, a := range start.Attr {
				if a.Name.Local == "type" {
					call.This.Type = a.Value
				}
			}
			var value string
			if d.DecodeElement(&value, &start) == nil {
				call.This.Value = strings.TrimSpace(value)
			}
			return call
		default:
			return call // _this always comes first
		}
	}
}

// bufferedWriter holds the simulator's reply until it is known to be whole.
// Headers go straight to the real header map (Set-Cookie on Login must
// survive); the status and body are replayed by the guard.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header         { return b.header }
func (b *bufferedWriter) WriteHeader(status int)      { b.status = status }
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.body.Write(p) }

const envelopeHead = `<?xml version="1.0" encoding="UTF-8"?>` +
	`<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/"` +
	` xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"` +
	` xmlns:xsd="http://www.w3.org/2001/XMLSchema"` +
	` xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>`

const envelopeTail = `</soapenv:Body></soapenv:Envelope>`

func writeSOAP(w http.ResponseWriter, status int, inner string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, envelopeHead+inner+envelopeTail)
}

func emptyResponse(method string) string {
	return fmt.Sprintf(`<%sResponse xmlns="urn:vim25"></%sResponse>`, method, method)
}

func systemError(reason string) string {
	r := escape(reason)
	return `<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>` + r +
		`</faultstring><detail><SystemErrorFault xmlns="urn:vim25" xsi:type="SystemError"><reason>` + r +
		`</reason></SystemErrorFault></detail></soapenv:Fault>`
}

func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
