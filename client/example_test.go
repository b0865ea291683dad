package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/fenzhen/fenzhen/client"
)

// Triage a complaint, then answer the question it asks.
func ExampleClient_Triage() {
	c, err := client.New("http://fenzhen.hospital.local:8080", client.WithAPIKey(os.Getenv("FENZHEN_API_KEY")))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := client.TriageRequest{Text: "三岁孩子发烧两天了，最高39度，咳嗽有黄痰", Age: client.Age(3), Sex: client.SexMale}
	r, err := c.Triage(client.WithRequestID(ctx, "his-20240501-000123"), req)
	var e *client.Error
	switch {
	case errors.As(err, &e):
		log.Fatalf("%s (%d): %s, request %s", e.Code, e.Status, e.Message, e.RequestID)
	case err != nil:
		log.Fatal(err)
	}
	fmt.Println(r.Departments[0].Name, r.Urgency.Label)
	if q := r.NextQuestion; q != nil && q.SymptomID != "" {
		fmt.Println(q.Text) // ask the patient, then send the answer as evidence
		req.Evidence = append(req.Evidence, client.Evidence{ID: q.SymptomID, State: client.StateAbsent})
		r, err = c.Triage(ctx, req)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(r.Urgency.Level)
	}
}
